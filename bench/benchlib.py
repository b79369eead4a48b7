"""What the benchmark scripts share."""


def percentile(values, p):
    """The p-th percentile (0-100) of values, nearest rank."""
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def submit_to_spool(root, name, image, extra=None):
    """Writes a no-data definition running `image` as `<root>/r/spool/incoming/.<name>.json` and
    returns (temporary, final) paths: renaming the first to the second submits it."""
    import json
    definition = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "file://%s/output/" % root},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    }
    definition.update(extra or {})
    temporary = "%s/r/spool/incoming/.%s.json" % (root, name)
    with open(temporary, "w") as f:
        json.dump(definition, f)
    return temporary, "%s/r/spool/incoming/%s.json" % (root, name)
