import Testing
@testable import TrainingCore

@Suite("Defaults and the model")
struct DefaultsAndModelTests {
    @Test("defaults are applied after validation")
    func defaults() throws {
        let definition = try DefinitionBuilder()
            .with("StoppingCondition", .object([]))
            .with("CheckpointConfig", ["S3Uri": "file:///ckpt/"])
            .with("AlgorithmSpecification.TrainingInputMode", nil)
            .with("TrainingInputMode", "Pipe")
            .validate().get()
        let request = definition.request
        #expect(request.stoppingCondition.maxRuntimeInSeconds == 86_400)
        #expect(request.checkpointConfig?.localPath == "/opt/ml/checkpoints/")
        #expect(request.outputDataConfig.compressionType == .gzip)
        #expect(request.inputDataConfig?.first?.dataSource.s3DataSource?.s3DataDistributionType == .fullyReplicated)
        #expect(request.inputDataConfig?.first?.recordWrapperType == RecordWrapperType.none)
        #expect(request.inputDataConfig?.first?.compressionType == ChannelCompressionType.none)
        #expect(request.algorithmSpecification.trainingInputMode == .pipe)
        #expect(request.trainingInputMode == nil)
        #expect(definition.submitted["TrainingInputMode"] == "Pipe")
    }

    @Test("given values are kept")
    func explicitValuesKept() throws {
        let request = try DefinitionBuilder()
            .with("OutputDataConfig.CompressionType", "NONE")
            .with("InputDataConfig.0.DataSource.S3DataSource.S3DataDistributionType", "ShardedByS3Key")
            .validate().get().request
        #expect(request.outputDataConfig.compressionType == OutputCompressionType.none)
        #expect(request.inputDataConfig?.first?.dataSource.s3DataSource?.s3DataDistributionType == .shardedByS3Key)
    }

    /// The schema and the Codable model list the same members, so neither can drift from the other.
    @Test("schema members match the model's coding keys")
    func schemaMatchesModel() {
        func names(_ shape: Shape.Structure) -> [String] { shape.members.map(\.name).sorted() }
        #expect(names(Schema.createTrainingJobRequest) == CreateTrainingJobRequest.CodingKeys.allCases.map(\.rawValue).sorted())
        #expect(names(Schema.algorithmSpecification) == AlgorithmSpecification.CodingKeys.allCases.map(\.rawValue).sorted())
        #expect(names(Schema.channel) == Channel.CodingKeys.allCases.map(\.rawValue).sorted())
        #expect(names(Schema.s3DataSource) == S3DataSource.CodingKeys.allCases.map(\.rawValue).sorted())
        #expect(names(Schema.fileSystemDataSource) == FileSystemDataSource.CodingKeys.allCases.map(\.rawValue).sorted())
        #expect(names(Schema.outputDataConfig) == OutputDataConfig.CodingKeys.allCases.map(\.rawValue).sorted())
        #expect(names(Schema.resourceConfig) == ResourceConfig.CodingKeys.allCases.map(\.rawValue).sorted())
        #expect(names(Schema.stoppingCondition) == StoppingCondition.CodingKeys.allCases.map(\.rawValue).sorted())
        #expect(names(Schema.checkpointConfig) == CheckpointConfig.CodingKeys.allCases.map(\.rawValue).sorted())
        #expect(names(Schema.tag) == Tag.CodingKeys.allCases.map(\.rawValue).sorted())
        #expect(names(Schema.metricDefinition) == MetricDefinition.CodingKeys.allCases.map(\.rawValue).sorted())
        #expect(names(Schema.createAlgorithmInput) == AlgorithmDefinition.CodingKeys.allCases.map(\.rawValue).sorted())
    }

    @Test("storage URIs", arguments: [
        ("s3://bucket/key/x", StorageURI.s3(bucket: "bucket", key: "key/x")),
        ("s3://bucket", StorageURI.s3(bucket: "bucket", key: "")),
        ("https://host/p", StorageURI.https(host: "host", path: "p")),
        ("file:///srv/data%20set/", StorageURI.file(path: "/srv/data set/")),
    ])
    func storageURIs(_ text: String, _ expected: StorageURI) {
        #expect(StorageURI.parse(text) == expected)
    }

    @Test("malformed storage URIs", arguments: ["s3:///key", "file://relative", "file:///a%2", "file:///a%00b", "gs://b/k", "S3://b/k"])
    func malformedURIs(_ text: String) {
        #expect(StorageURI.parse(text) == nil)
    }
}

@Suite("Strict JSON parser")
struct StrictJSONParserTests {
    func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue { try StrictJSONParser.parse(Array(text.utf8)) }

    @Test("values, escapes and surrogate pairs")
    func values() throws {
        let value = try parse(#"{"a": [1, -2.5e3, true, false, null, "x\n\u00e9\ud83d\ude00\/"], "b": {}}"#)
        #expect(value["a"] == [1, .double(-2500), true, false, nil, "x\né😀/"])
        #expect(value["b"] == .object([]))
        #expect(try parse("9223372036854775807") == .integer(Int64.max))
        #expect(try parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
    }

    @Test("member order is kept and serialization round-trips", arguments: [
        #"{"z":1,"a":{"y":[1,2],"b":"c/d"}}"#, #"[]"#, #"{"k":"é \"q\" \\ \t"}"#,
        "[\"\\b\\f\\n\\r\\u0001\\u001f😀\u{7f}\"]", #"{"":"","a":[{},[]]}"#,
    ])
    func roundTrip(_ text: String) throws {
        #expect(try parse(text).serialized() == text)
    }

    @Test("pretty serialization indents two spaces per level")
    func pretty() throws {
        #expect(try parse(#"{"a":[1,{"b":"\n"}],"c":{}}"#).serialized(.pretty) == """
            {
              "a": [
                1,
                {
                  "b": "\\n"
                }
              ],
              "c": {}
            }
            """)
    }

    @Test("sorted serialization sorts every level")
    func sorted() throws {
        #expect(try parse(#"{"b":1,"a":{"d":1,"c":2}}"#).serialized(.compactSorted) == #"{"a":{"c":2,"d":1},"b":1}"#)
    }

    @Test("refused documents", arguments: [
        "", " ", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "1e", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"a\u{01}\"",
        "tru", "nul", "{} x", "{'a':1}", "\u{FEFF}{}", "NaN", "[1e999]",
    ])
    func refused(_ text: String) {
        #expect(throws: JSONSyntaxError.self) { try parse(text) }
    }

    @Test("overlong UTF-8 and encoded surrogates are refused")
    func overlong() {
        #expect(throws: JSONSyntaxError.self) { try StrictJSONParser.parse([0x22, 0xC0, 0xAF, 0x22]) }
        #expect(throws: JSONSyntaxError.self) { try StrictJSONParser.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) }
        #expect(throws: JSONSyntaxError.self) { try StrictJSONParser.parse([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]) }
    }
}
