import Testing
import TrainingCore

@Suite("Local buckets: s3:// locations served from directories")
struct LocalBucketsTests {
    let buckets = LocalBuckets(directories: ["my-bucket": "/srv/mine"], defaultDirectory: "/var/lib/trainingd/buckets")

    @Test("a mapped bucket is its directory, any other valid name is under the default one, keys and trailing slashes kept")
    func paths() {
        #expect(buckets.localPath(of: "s3://my-bucket/train/") == "/srv/mine/train/")
        #expect(buckets.localPath(of: "s3://my-bucket/train/part-0.csv") == "/srv/mine/train/part-0.csv")
        #expect(buckets.localPath(of: "s3://my-bucket") == "/srv/mine/")
        #expect(buckets.localPath(of: "s3://other.bucket-2/x") == "/var/lib/trainingd/buckets/other.bucket-2/x")
        #expect(buckets.localPath(of: "file:///data/x") == "/data/x")
        #expect(LocalBuckets(directories: ["my-bucket": "/srv/mine"]).localPath(of: "s3://other/x") == nil)
    }

    @Test("names that are not S3 bucket names, and keys with '.' or '..' segments, are refused: nothing leaves a bucket's directory",
          arguments: ["s3://../etc/passwd", "s3://ab/x", "s3://My-Bucket/x", "s3://a..b/x", "s3://-abc/x", "s3://my-bucket/../../etc/shadow",
                      "s3://my-bucket/a/./b", "s3://my-bucket/a//b", "s3://my-bucket/..", "s3://my-bucket/..\u{0}", "s3://my-bucket/a\nb"])
    func refused(uri: String) {
        #expect(buckets.localPath(of: uri) == nil)
        #expect(buckets.refusal(of: uri) != nil)
    }

    @Test("an unserved bucket's refusal says how to serve it")
    func refusalSaysWhatToDo() {
        let message = LocalBuckets(directories: ["my-bucket": "/srv/mine"]).refusal(of: "s3://their-bucket/out/") ?? ""
        #expect(message.contains("[buckets.\"their-bucket\"]"))
        #expect(LocalBuckets().refusal(of: "https://example.com/x")?.contains("file://") == true)
    }
}
