import Foundation
import Testing
import TrainingCore
@testable import TrainingImages

/// What podman reports is turned into images, and references find them, without podman.
@Suite("the image catalog")
struct ImageCatalogTests {
    static let inspection = #"""
        [{"Id": "9684541c294b30766a37b4858ae50d38d3d8e0e4c65024d2f185a682fa277f22",
          "RepoTags": ["683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3", "localhost/sklearn:latest"],
          "RepoDigests": ["localhost/sklearn@sha256:ed71d7517040f5c441b1659060b2e96e6fb23245bca56cca4795c902cd1b0a22"],
          "Config": {"User": "trainer:trainers", "Env": ["PATH=/usr/bin:/bin", "EMPTY=", "A=b=c"],
                     "Entrypoint": ["/usr/bin/python3", "-m", "train"], "Cmd": ["--help"], "WorkingDir": "/opt/program"},
          "GraphDriver": {"Name": "overlay", "Data": {"LowerDir": "/s/overlay/b/diff:/s/overlay/a/diff", "UpperDir": "/s/overlay/c/diff",
                                                      "WorkDir": "/s/overlay/c/work"}}},
         {"Id": "1111111111111111111111111111111111111111111111111111111111111111", "RepoTags": ["docker.io/library/busybox:latest"],
          "Config": {}, "GraphDriver": {"Name": "overlay", "Data": {"UpperDir": "/s/overlay/d/diff"}}}]
        """#

    func images() throws -> [ContainerImage] {
        try ImageCatalog.parseInspection(Array(Self.inspection.utf8), podman: "/usr/bin/podman")
    }

    @Test("inspection gives the config (Cmd is not kept: SageMaker replaces it with train) and the layers, top first")
    func parsesInspection() throws {
        let image = try #require(try images().first)
        #expect(image.entrypoint == ["/usr/bin/python3", "-m", "train"])
        #expect(image.environment == ["PATH": "/usr/bin:/bin", "EMPTY": "", "A": "b=c"])
        #expect(image.workingDirectory == "/opt/program")
        #expect(image.user == "trainer:trainers")
        #expect(image.layers == ["/s/overlay/c/diff", "/s/overlay/b/diff", "/s/overlay/a/diff"])
        let second = try images()[1]
        #expect(second.layers == ["/s/overlay/d/diff"] && second.entrypoint.isEmpty)
    }

    @Test("references: the exact name, without :latest, without docker.io/library or localhost, an id prefix; nothing else")
    func matchesReferences() throws {
        let images = try images()
        for reference in ["683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3", "localhost/sklearn:latest",
                          "localhost/sklearn", "sklearn", "9684541c294b", "sha256:9684541c294b30766a37b4858ae50d38d3d8e0e4c65024d2f185a682fa277f22",
                          "localhost/sklearn@sha256:ed71d7517040f5c441b1659060b2e96e6fb23245bca56cca4795c902cd1b0a22"] {
            #expect(ImageCatalog.match(reference, in: images)?.id.hasPrefix("9684") == true, "\(reference)")
        }
        for reference in ["busybox", "busybox:latest", "library/busybox", "docker.io/busybox"] {
            #expect(ImageCatalog.match(reference, in: images)?.id.hasPrefix("1111") == true, "\(reference)")
        }
        for reference in ["sagemaker-scikit-learn:1.2-1-cpu-py3", "sklearn:2", "968454", "other.registry.io/sklearn", "localhost/busybox:1"] {
            #expect(ImageCatalog.match(reference, in: images) == nil, "\(reference)")
        }
    }

    @Test("a store on another driver, ids that are not ids, and output that is not JSON are refused with what to do")
    func refusesWhatItCannotUse() throws {
        let vfs = #"[{"Id": "ab", "Config": {}, "GraphDriver": {"Name": "vfs", "Data": {"Dir": "/x"}}}]"#
        #expect(throws: ImageError.self) { try ImageCatalog.parseInspection(Array(vfs.utf8), podman: "p") }
        do {
            _ = try ImageCatalog.parseInspection(Array(vfs.utf8), podman: "p")
        } catch {
            #expect(error.message.contains("driver = \"overlay\""), "\(error.message)")
        }
        #expect(throws: ImageError.self) { try ImageCatalog.parseIDs(Array(#"[{"Id": "../../etc"}]"#.utf8), podman: "p") }
        #expect(throws: ImageError.self) { try ImageCatalog.parseIDs(Array("Error: no".utf8), podman: "p") }
        #expect(try ImageCatalog.parseIDs(Array("[]".utf8), podman: "p").isEmpty)
    }

    @Test("a podman that cannot run is an error naming it, and lookups then find nothing (at most one run per interval)")
    func missingTool() {
        let catalog = ImageCatalog(podman: "/nonexistent/podman", refreshInterval: .seconds(60))
        #expect(catalog.lookup("busybox") == nil)
        #expect(catalog.failure?.message.contains("/nonexistent/podman") == true)
        #expect(catalog.lookup("busybox") == nil)
    }

    @Test("a real podman, when there is one: every image it lists has layers that exist", .enabled(if: getuid() == 0 && access("/usr/bin/podman", X_OK) == 0))
    func realPodman() throws {
        let catalog = ImageCatalog(podman: "/usr/bin/podman")
        try catalog.refresh()
        for image in catalog.current() {
            #expect(image.layers.allSatisfy { FileManager.default.fileExists(atPath: $0) }, "\(image)")
        }
    }
}

/// The site resolves TrainingImage through the image table and the local store.
@Suite("container images in the site catalog")
struct SiteImageTests {
    let image = ContainerImage(id: String(repeating: "a", count: 64), names: ["localhost/algo:1"], layers: ["/l"], entrypoint: ["/train.sh"],
                               environment: ["A": "image", "B": "image"], workingDirectory: "/w", user: "1000")

    func site(_ table: [String: ImageEntry] = [:], store: Bool = true) -> SiteCatalog {
        var site = SiteCatalog(images: table, configurationPath: "/etc/trainingd.conf")
        let known = image
        if store { site.localImage = { ImageCatalog.match($0, in: [known]) } }
        return site
    }

    @Test("a URI that is an image's own name, or an image-table entry that maps it, resolves to the container; the table's environment wins")
    func resolves() {
        #expect(site().resolveImage("localhost/algo:1")?.container == image)
        var entry = ImageEntry(entrypoint: [], environment: ["B": "table"])
        entry.reference = "localhost/algo:1"
        let resolved = site(["123.dkr.ecr.us-east-1.amazonaws.com/algo:1": entry]).resolveImage("123.dkr.ecr.us-east-1.amazonaws.com/algo:1")
        #expect(resolved?.container == image)
        #expect(resolved?.entrypoint == ["/train.sh"])
        #expect(resolved?.environment == ["A": "image", "B": "table"])
    }

    @Test("a missing image is refused at validation, naming the field and how to bring the image")
    func missingImage() throws {
        let definition = Array("""
            {"TrainingJobName": "j", "AlgorithmSpecification": {"TrainingImage": "123.dkr.ecr.us-east-1.amazonaws.com/absent:1", "TrainingInputMode": "File"},
             "OutputDataConfig": {"S3OutputPath": "file:///tmp/o/"}, "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
             "StoppingCondition": {"MaxRuntimeInSeconds": 60}}
            """.utf8)
        for (site, phrase) in [(site(), "podman load -i"), (site(store: false), "no local image store is configured")] {
            guard case .failure(let rejection) = DefinitionValidator(site: site).validate(definition) else {
                Issue.record("accepted")
                continue
            }
            let issues = rejection.issues
            #expect(issues.contains { $0.message.contains(phrase) && "\($0.path)".contains("rainingImage") }, "\(issues)")
        }
    }
}
