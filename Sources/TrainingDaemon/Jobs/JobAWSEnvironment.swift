import Foundation
import TrainingConfig
import TrainingObjectStore

/// What a job is told of its AWS world, under its own Environment (which wins): where S3 is
/// (`AWS_ENDPOINT_URL_S3`, the daemon's S3 endpoint), where trainingd's own API is when it listens
/// on TCP (`AWS_ENDPOINT_URL_SAGEMAKER`, `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`), the region, and the credentials
/// `[aws_api] job_credentials` says: the first key of the credentials file mapped to the job's
/// owner, or none. Never the daemon's own S3 credentials: those may reach what the owner may not.
enum JobAWSEnvironment {
    static func variables(ownerUID: uid_t, configuration: DaemonConfiguration, keys: AccessKeys, s3: S3Settings?) -> [String: String] {
        var variables: [String: String] = [:]
        if let s3 { variables["AWS_ENDPOINT_URL_S3"] = s3.endpoint }
        if let listen = configuration.awsAPI.listen, case .success(let address) = ListenAddress.parse(listen) {
            // A wildcard address is reached on loopback from the job's own host.
            let host = address.host == "0.0.0.0" ? "127.0.0.1" : address.host == "::" ? "::1" : address.host
            let endpoint = "http://" + ListenAddress(host: host, port: address.port).description
            variables["AWS_ENDPOINT_URL_SAGEMAKER"] = endpoint
            variables["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"] = endpoint
        }
        // The API takes requests scoped to the daemon's region or to the S3 endpoint's; S3 needs its own.
        if let region = s3?.region ?? (configuration.region != "local" || configuration.awsAPI.listen != nil ? configuration.region : nil) {
            variables["AWS_REGION"] = region
            variables["AWS_DEFAULT_REGION"] = region
        }
        if configuration.awsAPI.jobCredentials == .owner, let key = keys.firstKey(ofUID: ownerUID) {
            variables["AWS_ACCESS_KEY_ID"] = key.id
            variables["AWS_SECRET_ACCESS_KEY"] = key.secret
        }
        return variables
    }
}
