#!/usr/bin/env python3
"""Writes the definition corpus under Tests/Fixtures/{valid,invalid}/.

Each invalid case is a valid base definition with one mutation; its
NAME.expected.json lists the issues ({path, code}) the validator must report,
no more and no fewer. Run it again after changing a case; the output is
committed so that the tests need no Python.
"""
import copy, json, os

HERE = os.path.dirname(os.path.abspath(__file__))

BASE = {
    "TrainingJobName": "linear-regression",
    "AlgorithmSpecification": {"TrainingImage": "/usr/bin/python3", "TrainingInputMode": "File"},
    "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
    "InputDataConfig": [{
        "ChannelName": "train",
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "file:///srv/data/train/"}},
        "ContentType": "text/csv",
    }],
    "OutputDataConfig": {"S3OutputPath": "file:///srv/output/"},
    "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
}

def channel(name="train", mode=None, **source):
    c = {"ChannelName": name, "DataSource": source or {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "file:///srv/data/%s/" % name}}}
    if mode:
        c["InputMode"] = mode
    return c

def derive(mutate):
    d = copy.deepcopy(BASE)
    mutate(d)
    return d

VALID = {
    "file-mode-local-prefix": BASE,
    "fastfile-mode": derive(lambda d: d["AlgorithmSpecification"].update(TrainingInputMode="FastFile")),
    "pipe-gzip-recordio-shuffle": derive(lambda d: (d["AlgorithmSpecification"].update(TrainingInputMode="Pipe"), d["InputDataConfig"][0].update(
        CompressionType="Gzip", RecordWrapperType="RecordIO", ShuffleConfig={"Seed": 9007199254740993}))),
    "pipe-augmented-manifest": derive(lambda d: (d["AlgorithmSpecification"].update(TrainingInputMode="Pipe"), d["InputDataConfig"].__setitem__(0, {
        "ChannelName": "train", "RecordWrapperType": "RecordIO",
        "DataSource": {"S3DataSource": {"S3DataType": "AugmentedManifestFile", "S3Uri": "file:///srv/data/train.manifest",
                                        "AttributeNames": ["source-ref", "label"], "S3DataDistributionType": "ShardedByS3Key"}}}))),
    "file-mode-manifest-and-filesystem": derive(lambda d: d["InputDataConfig"].extend([
        {"ChannelName": "validation", "DataSource": {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": "file:///srv/data/validation.manifest"}}},
        {"ChannelName": "shared", "DataSource": {"FileSystemDataSource": {"FileSystemId": "fs-0123456789abcdef0", "FileSystemAccessMode": "ro",
                                                                          "FileSystemType": "EFS", "DirectoryPath": "/datasets/shared"}}}])),
    "top-level-input-mode-mixed-channels": derive(lambda d: (d["AlgorithmSpecification"].pop("TrainingInputMode"), d.update(TrainingInputMode="File"),
        d["InputDataConfig"].append(channel("stream", mode="Pipe")), d["InputDataConfig"].append(channel("lazy", mode="FastFile")))),
    "instance-groups": derive(lambda d: (d.update(ResourceConfig={"VolumeSizeInGB": 20, "InstanceGroups": [
        {"InstanceType": "ml.m5.large", "InstanceCount": 1, "InstanceGroupName": "controller"},
        {"InstanceType": "ml.c5.xlarge", "InstanceCount": 2, "InstanceGroupName": "workers"}]}),
        d["InputDataConfig"][0]["DataSource"]["S3DataSource"].update(InstanceGroupNames=["workers"]))),
    "spot-checkpoints-retries": derive(lambda d: d.update(EnableManagedSpotTraining=True,
        StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200, "MaxPendingTimeInSeconds": 1800},
        CheckpointConfig={"S3Uri": "file:///srv/checkpoints/linear-regression/"}, RetryStrategy={"MaximumRetryAttempts": 3})),
    "cloud-uris-and-echoed-members": derive(lambda d: (d["InputDataConfig"][0]["DataSource"]["S3DataSource"].update(S3Uri="s3://bucket/train/"),
        d["OutputDataConfig"].update(S3OutputPath="https://bucket.s3.amazonaws.com/output", KmsKeyId="alias/key", CompressionType="NONE"),
        d.update(VpcConfig={"SecurityGroupIds": ["sg-12345678"], "Subnets": ["subnet-12345678"]}, EnableNetworkIsolation=True,
                 EnableInterContainerTrafficEncryption=False, Tags=[{"Key": "team", "Value": "ml"}],
                 DebugHookConfig={"S3OutputPath": "s3://bucket/debug", "HookParameters": {"save_interval": "100"}},
                 TensorBoardOutputConfig={"S3OutputPath": "file:///srv/tensorboard/"},
                 ExperimentConfig={"ExperimentName": "regression", "TrialName": "trial-1"},
                 ProfilerConfig={"DisableProfiler": True}, RemoteDebugConfig={"EnableRemoteDebug": False},
                 Environment={"PYTHONUNBUFFERED": "1", "_LOG_LEVEL": "debug"}, HyperParameters={"epochs": "10", "learning_rate": "0.1"}))),
    "no-input-data-algorithm-name-entrypoint": derive(lambda d: (d.pop("InputDataConfig"), d.pop("RoleArn"), d.pop("TrainingJobName"),
        d.update(AlgorithmSpecification={"AlgorithmName": "linear-learner", "TrainingInputMode": "File",
                                         "ContainerEntrypoint": ["python3", "-u"], "ContainerArguments": ["train.py", "--verbose"],
                                         "MetricDefinitions": [{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}]},
                 StoppingCondition={}))),
}

def big_map(n, value="v"):
    return {"k%d" % i: value for i in range(n)}

def channels(n):
    return [channel("c%d" % i) for i in range(n)]

# name: (mutation, [(path, code), ...])
INVALID = {
    "job-name-64-chars": (lambda d: d.update(TrainingJobName="a" * 64), [("trainingJobName", "length")]),
    "job-name-underscore": (lambda d: d.update(TrainingJobName="my_job"), [("trainingJobName", "pattern")]),
    "job-name-trailing-dash": (lambda d: d.update(TrainingJobName="job-"), [("trainingJobName", "pattern")]),
    "job-name-empty": (lambda d: d.update(TrainingJobName=""), [("trainingJobName", "length"), ("trainingJobName", "pattern")]),
    "job-name-number": (lambda d: d.update(TrainingJobName=42), [("trainingJobName", "wrongType")]),
    "unknown-top-level-member": (lambda d: d.update(TrainingJobNmae="x"), [("trainingJobNmae", "unknownMember")]),
    "unknown-nested-member": (lambda d: d["ResourceConfig"].update(InstanceCnt=1), [("resourceConfig.instanceCnt", "unknownMember")]),
    "unknown-channel-member": (lambda d: d["InputDataConfig"][0].update(Mode="File"), [("inputDataConfig.1.member.mode", "unknownMember")]),
    "missing-output-config": (lambda d: d.pop("OutputDataConfig"), [("outputDataConfig", "missingMember")]),
    "missing-algorithm-specification": (lambda d: d.pop("AlgorithmSpecification"), [("algorithmSpecification", "missingMember")]),
    "no-input-mode-anywhere": (lambda d: d["AlgorithmSpecification"].pop("TrainingInputMode"), [("algorithmSpecification.trainingInputMode", "missingMember")]),
    "input-modes-disagree": (lambda d: d.update(TrainingInputMode="Pipe"), [("trainingInputMode", "conflict")]),
    "bad-input-mode": (lambda d: d["AlgorithmSpecification"].update(TrainingInputMode="Stream"), [("algorithmSpecification.trainingInputMode", "enumValue")]),
    "image-and-algorithm-name": (lambda d: d["AlgorithmSpecification"].update(AlgorithmName="linear-learner"), [("algorithmSpecification", "conflict")]),
    "neither-image-nor-algorithm": (lambda d: d["AlgorithmSpecification"].pop("TrainingImage"), [("algorithmSpecification", "conflict")]),
    "image-256-chars": (lambda d: d["AlgorithmSpecification"].update(TrainingImage="/" + "a" * 255), [("algorithmSpecification.trainingImage", "length")]),
    "algorithm-name-trailing-dash": (lambda d: d.update(AlgorithmSpecification={"AlgorithmName": "algo-", "TrainingInputMode": "File"}), [("algorithmSpecification.algorithmName", "pattern")]),
    "entrypoint-empty-list": (lambda d: d["AlgorithmSpecification"].update(ContainerEntrypoint=[]), [("algorithmSpecification.containerEntrypoint", "length")]),
    "argument-257-chars": (lambda d: d["AlgorithmSpecification"].update(ContainerArguments=["x" * 257]), [("algorithmSpecification.containerArguments.1.member", "length")]),
    "metric-regex-invalid": (lambda d: d["AlgorithmSpecification"].update(MetricDefinitions=[{"Name": "loss", "Regex": "loss=([0-9"}]), [("algorithmSpecification.metricDefinitions.1.member.regex", "pattern")]),
    "metric-names-repeat": (lambda d: d["AlgorithmSpecification"].update(MetricDefinitions=[{"Name": "loss", "Regex": "a=(.*)"}, {"Name": "loss", "Regex": "b=(.*)"}]), [("algorithmSpecification.metricDefinitions.2.member.name", "notUnique")]),
    "role-arn-malformed": (lambda d: d.update(RoleArn="arn:aws:iam::123:role/x"), [("roleArn", "pattern")]),
    "twenty-one-channels": (lambda d: d.update(InputDataConfig=channels(21)), [("inputDataConfig", "length")]),
    "zero-channels": (lambda d: d.update(InputDataConfig=[]), [("inputDataConfig", "length")]),
    "duplicate-channel-names": (lambda d: d["InputDataConfig"].append(channel("train")), [("inputDataConfig.2.member.channelName", "notUnique")]),
    "channel-name-65-chars": (lambda d: d["InputDataConfig"][0].update(ChannelName="c" * 65), [("inputDataConfig.1.member.channelName", "length")]),
    "channel-name-slash": (lambda d: d["InputDataConfig"][0].update(ChannelName="train/x"), [("inputDataConfig.1.member.channelName", "pattern")]),
    "gzip-in-file-mode": (lambda d: d["InputDataConfig"][0].update(CompressionType="Gzip"), [("inputDataConfig.1.member.compressionType", "conflict")]),
    "augmented-manifest-in-file-mode": (lambda d: d["InputDataConfig"][0]["DataSource"]["S3DataSource"].update(S3DataType="AugmentedManifestFile", AttributeNames=["a"]), [("inputDataConfig.1.member.dataSource.s3DataSource.s3DataType", "conflict")]),
    "fastfile-with-manifest": (lambda d: (d["AlgorithmSpecification"].update(TrainingInputMode="FastFile"), d["InputDataConfig"][0]["DataSource"]["S3DataSource"].update(S3DataType="ManifestFile")), [("inputDataConfig.1.member.dataSource.s3DataSource.s3DataType", "conflict")]),
    "filesystem-in-pipe-mode": (lambda d: d["InputDataConfig"].__setitem__(0, channel("shared", mode="Pipe", FileSystemDataSource={"FileSystemId": "fs-0123456789abcdef0", "FileSystemAccessMode": "ro", "FileSystemType": "EFS", "DirectoryPath": "/x"})), [("inputDataConfig.1.member.inputMode", "conflict")]),
    "filesystem-id-malformed": (lambda d: d["InputDataConfig"].__setitem__(0, channel("shared", FileSystemDataSource={"FileSystemId": "fs-XYZ12345678", "FileSystemAccessMode": "ro", "FileSystemType": "EFS", "DirectoryPath": "/x"})), [("inputDataConfig.1.member.dataSource.fileSystemDataSource.fileSystemId", "pattern")]),
    "both-data-sources": (lambda d: d["InputDataConfig"][0]["DataSource"].update(FileSystemDataSource={"FileSystemId": "fs-0123456789abcdef0", "FileSystemAccessMode": "ro", "FileSystemType": "EFS", "DirectoryPath": "/x"}), [("inputDataConfig.1.member.dataSource", "conflict")]),
    "empty-data-source": (lambda d: d["InputDataConfig"][0].update(DataSource={}), [("inputDataConfig.1.member.dataSource", "conflict")]),
    "s3-uri-ftp": (lambda d: d["InputDataConfig"][0]["DataSource"]["S3DataSource"].update(S3Uri="ftp://host/data"), [("inputDataConfig.1.member.dataSource.s3DataSource.s3Uri", "pattern")]),
    "file-uri-relative": (lambda d: d["OutputDataConfig"].update(S3OutputPath="file://output"), [("outputDataConfig.s3OutputPath", "pattern")]),
    "file-uri-bad-escape": (lambda d: d["OutputDataConfig"].update(S3OutputPath="file:///out%zz"), [("outputDataConfig.s3OutputPath", "pattern")]),
    "s3-uri-1025-chars": (lambda d: d["OutputDataConfig"].update(S3OutputPath="s3://b/" + "k" * 1018), [("outputDataConfig.s3OutputPath", "length")]),
    "output-compression-lowercase": (lambda d: d["OutputDataConfig"].update(CompressionType="gzip"), [("outputDataConfig.compressionType", "enumValue")]),
    "instance-count-zero": (lambda d: d["ResourceConfig"].update(InstanceCount=0), [("resourceConfig.instanceCount", "range")]),
    "instance-count-string": (lambda d: d["ResourceConfig"].update(InstanceCount="1"), [("resourceConfig.instanceCount", "wrongType")]),
    "instance-count-fraction": (lambda d: d["ResourceConfig"].update(InstanceCount=1.5), [("resourceConfig.instanceCount", "wrongType")]),
    "instance-type-unknown": (lambda d: d["ResourceConfig"].update(InstanceType="m5.large"), [("resourceConfig.instanceType", "enumValue")]),
    "volume-size-zero": (lambda d: d["ResourceConfig"].update(VolumeSizeInGB=0), [("resourceConfig.volumeSizeInGB", "range")]),
    "keep-alive-21601": (lambda d: d["ResourceConfig"].update(KeepAlivePeriodInSeconds=21601), [("resourceConfig.keepAlivePeriodInSeconds", "range")]),
    "instance-groups-and-type": (lambda d: d["ResourceConfig"].update(InstanceGroups=[{"InstanceType": "ml.m5.large", "InstanceCount": 1, "InstanceGroupName": "g"}]), [("resourceConfig.instanceGroups", "conflict")]),
    "six-instance-groups": (lambda d: d.update(ResourceConfig={"InstanceGroups": [{"InstanceType": "ml.m5.large", "InstanceCount": 1, "InstanceGroupName": "g%d" % i} for i in range(6)]}), [("resourceConfig.instanceGroups", "length")]),
    "instance-group-names-unknown": (lambda d: d["InputDataConfig"][0]["DataSource"]["S3DataSource"].update(InstanceGroupNames=["workers"]), [("inputDataConfig.1.member.dataSource.s3DataSource.instanceGroupNames.1.member", "conflict")]),
    "no-instance-type": (lambda d: d["ResourceConfig"].pop("InstanceType"), [("resourceConfig.instanceType", "missingMember")]),
    "max-runtime-zero": (lambda d: d["StoppingCondition"].update(MaxRuntimeInSeconds=0), [("stoppingCondition.maxRuntimeInSeconds", "range")]),
    "max-runtime-over-28-days": (lambda d: d["StoppingCondition"].update(MaxRuntimeInSeconds=2419201), [("stoppingCondition.maxRuntimeInSeconds", "range")]),
    "max-pending-1799": (lambda d: d["StoppingCondition"].update(MaxPendingTimeInSeconds=1799), [("stoppingCondition.maxPendingTimeInSeconds", "range")]),
    "spot-without-max-wait": (lambda d: d.update(EnableManagedSpotTraining=True), [("stoppingCondition.maxWaitTimeInSeconds", "missingMember")]),
    "spot-max-wait-below-runtime": (lambda d: (d.update(EnableManagedSpotTraining=True), d["StoppingCondition"].update(MaxWaitTimeInSeconds=3599)), [("stoppingCondition.maxWaitTimeInSeconds", "range")]),
    "max-wait-without-spot": (lambda d: d["StoppingCondition"].update(MaxWaitTimeInSeconds=7200), [("stoppingCondition.maxWaitTimeInSeconds", "conflict")]),
    "spot-flag-string": (lambda d: d.update(EnableManagedSpotTraining="true"), [("enableManagedSpotTraining", "wrongType")]),
    "hyperparameters-101": (lambda d: d.update(HyperParameters=big_map(101)), [("hyperParameters", "length")]),
    "hyperparameter-value-2501": (lambda d: d.update(HyperParameters={"lr": "1" * 2501}), [("hyperParameters.lr", "length")]),
    "hyperparameter-key-257": (lambda d: d.update(HyperParameters={"k" * 257: "1"}), [("hyperParameters", "length")]),
    "hyperparameter-number": (lambda d: d.update(HyperParameters={"epochs": 10}), [("hyperParameters.epochs", "wrongType")]),
    "environment-key-dash": (lambda d: d.update(Environment={"MY-VAR": "1"}), [("environment", "pattern")]),
    "environment-value-513": (lambda d: d.update(Environment={"VAR": "x" * 513}), [("environment.VAR", "length")]),
    "environment-101": (lambda d: d.update(Environment=big_map(101)), [("environment", "length")]),
    "checkpoint-without-uri": (lambda d: d.update(CheckpointConfig={"LocalPath": "/opt/ml/checkpoints"}), [("checkpointConfig.s3Uri", "missingMember")]),
    "checkpoint-relative-local-path": (lambda d: d.update(CheckpointConfig={"S3Uri": "file:///srv/ckpt/", "LocalPath": "checkpoints"}), [("checkpointConfig.localPath", "pattern")]),
    "retry-attempts-31": (lambda d: d.update(RetryStrategy={"MaximumRetryAttempts": 31}), [("retryStrategy.maximumRetryAttempts", "range")]),
    "retry-attempts-zero": (lambda d: d.update(RetryStrategy={"MaximumRetryAttempts": 0}), [("retryStrategy.maximumRetryAttempts", "range")]),
    "tags-51": (lambda d: d.update(Tags=[{"Key": "k%d" % i, "Value": "v"} for i in range(51)]), [("tags", "length")]),
    "tag-key-129": (lambda d: d.update(Tags=[{"Key": "k" * 129, "Value": "v"}]), [("tags.1.member.key", "length")]),
    "tag-keys-repeat": (lambda d: d.update(Tags=[{"Key": "team", "Value": "a"}, {"Key": "team", "Value": "b"}]), [("tags.2.member.key", "notUnique")]),
    "vpc-without-subnets": (lambda d: d.update(VpcConfig={"SecurityGroupIds": ["sg-1"]}), [("vpcConfig.subnets", "missingMember")]),
    "dataset-source": (lambda d: d["InputDataConfig"][0].update(DataSource={"DatasetSource": {"DatasetArn": "x"}}), [("inputDataConfig.1.member.dataSource.datasetSource", "unsupported")]),
    "shuffle-seed-string": (lambda d: d["InputDataConfig"][0].update(ShuffleConfig={"Seed": "7"}), [("inputDataConfig.1.member.shuffleConfig.seed", "wrongType")]),
    "several-errors-at-once": (lambda d: (d.update(TrainingJobName="bad_name"), d["ResourceConfig"].update(InstanceCount=0), d["StoppingCondition"].update(MaxRuntimeInSeconds=0)),
        [("trainingJobName", "pattern"), ("resourceConfig.instanceCount", "range"), ("stoppingCondition.maxRuntimeInSeconds", "range")]),
}

# Documents that cannot be built by mutation: raw bytes and their single expected issue.
RAW = {
    "malformed-json": (b'{"TrainingJobName": "x",', [("", "syntax")]),
    "top-level-array": (b'[{"TrainingJobName": "x"}]', [("", "notAnObject")]),
    "duplicate-key": (b'{"TrainingJobName": "a", "TrainingJobName": "b"}', [("trainingJobName", "duplicateKey")]),
    "duplicate-nested-key": (b'{"ResourceConfig": {"InstanceCount": 1, "InstanceCount": 2}}', [("resourceConfig.instanceCount", "duplicateKey")]),
    "invalid-utf8": (b'{"TrainingJobName": "caf\xe9"}', [("", "syntax")]),
    "trailing-garbage": (b'{} {}', [("", "syntax")]),
}

def write(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
        f.write("\n")

def main():
    for kind in ("valid", "invalid"):
        os.makedirs(os.path.join(HERE, kind), exist_ok=True)
        for name in os.listdir(os.path.join(HERE, kind)):
            os.remove(os.path.join(HERE, kind, name))
    for name, definition in VALID.items():
        write(os.path.join(HERE, "valid", name + ".json"), definition)
    for name, (mutate, expected) in INVALID.items():
        d = copy.deepcopy(BASE)
        mutate(d)
        write(os.path.join(HERE, "invalid", name + ".json"), d)
        write(os.path.join(HERE, "invalid", name + ".expected.json"), [{"path": p, "code": c} for p, c in expected])
    for name, (raw, expected) in RAW.items():
        with open(os.path.join(HERE, "invalid", name + ".json"), "wb") as f:
            f.write(raw)
        write(os.path.join(HERE, "invalid", name + ".expected.json"), [{"path": p, "code": c} for p, c in expected])
    print(len(VALID), "valid,", len(INVALID) + len(RAW), "invalid")

main()
