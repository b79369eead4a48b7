import Foundation
import Testing
import TrainingCore

@Suite("Instance types: the catalog, the configuration's own, and capacity at submission")
struct InstanceTypeCatalogTests {
    @Test("every type CreateTrainingJob accepts has vCPUs, memory and GPUs; spot checks against AWS's figures")
    func builtIn() {
        let catalog = InstanceTypeCatalog.builtIn
        #expect(Set(catalog.specs.keys) == TrainingInstanceTypes.all)
        #expect(catalog.spec(of: "ml.m5.large") == InstanceSpec(vcpus: 2, memoryMiB: 8 * 1024))
        #expect(catalog.spec(of: "ml.c4.xlarge") == InstanceSpec(vcpus: 4, memoryMiB: 7680))
        #expect(catalog.spec(of: "ml.r5.24xlarge") == InstanceSpec(vcpus: 96, memoryMiB: 768 * 1024))
        #expect(catalog.spec(of: "ml.g5.12xlarge") == InstanceSpec(vcpus: 48, memoryMiB: 192 * 1024, gpus: 4))
        #expect(catalog.spec(of: "ml.g6e.xlarge") == InstanceSpec(vcpus: 4, memoryMiB: 32 * 1024, gpus: 1))
        #expect(catalog.spec(of: "ml.p4d.24xlarge") == InstanceSpec(vcpus: 96, memoryMiB: 1152 * 1024, gpus: 8))
        #expect(catalog.spec(of: "ml.trn1.32xlarge")?.gpus == 0)
        #expect(catalog.specs.values.allSatisfy { $0.vcpus > 0 && $0.memoryMiB >= 4096 })
    }

    @Test("an unknown type is refused with the known types closest to it")
    func unknownType() {
        let messages = DefinitionBuilder().with("ResourceConfig.InstanceType", "ml.m5.huge").messages()
        #expect(messages.count == 1)
        #expect(messages.first?.contains("the closest: ml.m5.large, ml.m5.xlarge") == true, "\(messages)")
        let groups = DefinitionBuilder().with("ResourceConfig", ["InstanceGroups": [["InstanceType": "ml.g5.xlargee", "InstanceCount": 1, "InstanceGroupName": "a"]]])
        #expect(groups.issues() == ["resourceConfig.instanceGroups.1.member.instanceType enumValue"])
        #expect(groups.messages().first?.contains("the closest: ml.g5.xlarge") == true, "\(groups.messages())")
    }

    @Test("a type the site's [instance_types] adds is accepted there, and its figures count")
    func siteType() {
        var site = SiteCatalog(isExecutable: { _ in true })
        site.instanceTypes = InstanceTypeCatalog.builtIn.adding(["ml.lab.tiny": InstanceSpec(vcpus: 1, memoryMiB: 512)])
        site.machine = MachineCapacity(cpus: 1, memoryMiB: 1024, gpuDevices: [])
        let tiny = DefinitionBuilder().with("ResourceConfig.InstanceType", "ml.lab.tiny")
        #expect(tiny.issues(site: site).isEmpty, "\(tiny.messages(site: site))")
        #expect(tiny.issues() == ["resourceConfig.instanceType enumValue"], "not without the site")
        #expect(tiny.with("ResourceConfig.InstanceCount", 3).issues(site: site) == ["resourceConfig.instanceCount resourceLimitExceeded", "resourceConfig.instanceCount resourceLimitExceeded"])
    }

    @Test("capacity at submission: CPUs and memory named, instance_scale maps types onto a small machine, oversubscription caps the need")
    func capacity() throws {
        var site = SiteCatalog(isExecutable: { _ in true })
        site.machine = MachineCapacity(cpus: 2, memoryMiB: 12 * 1024, gpuDevices: [])
        let xlarge = DefinitionBuilder().with("ResourceConfig.InstanceType", "ml.m5.xlarge")
        let messages = xlarge.messages(site: site)
        #expect(messages.count == 2)
        #expect(messages.first?.hasPrefix("The job's instance needs 4 CPUs, and this machine has 2 CPUs") == true, "\(messages)")
        #expect(messages.last?.hasPrefix("The job's instance needs 16 GiB of memory, and this machine has 12 GiB") == true, "\(messages)")
        site.machine?.instanceScale = 0.5
        #expect(xlarge.issues(site: site).isEmpty)
        #expect(site.machine?.need(of: InstanceSpec(vcpus: 4, memoryMiB: 16 * 1024)) == ResourceAmount(milliCPUs: 2000, memoryMiB: 8 * 1024))
        site.machine?.instanceScale = 1
        site.machine?.allowsOversubscription = true
        #expect(xlarge.issues(site: site).isEmpty)
        let resources = try JSONDecoder().decode(ResourceConfig.self, from: Data(#"{"InstanceType": "ml.m5.xlarge", "InstanceCount": 2}"#.utf8))
        #expect(site.machine?.need(of: resources, catalog: .builtIn) == ResourceAmount(milliCPUs: 2000, memoryMiB: 12 * 1024))
    }

    @Test("the priority tag holds an integer from -1000 to 1000")
    func priorityTag() {
        let tagged = { (value: String) in DefinitionBuilder().with("Tags", [["Key": "trainingd:priority", "Value": .string(value)]]) }
        #expect(tagged("10").issues().isEmpty && tagged("-1000").issues().isEmpty)
        #expect(tagged("high").issues() == ["tags.1.member.value range"])
        #expect(tagged("1001").issues() == ["tags.1.member.value range"])
        if case .success(let definition) = tagged("-7").validate() { #expect(JobPriority.of(definition.request) == -7) }
    }
}
