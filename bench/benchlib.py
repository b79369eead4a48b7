"""What the benchmark scripts share."""
import http.client, json, os, socket, subprocess, time


class UnixConnection(http.client.HTTPConnection):
    """HTTP/1.1 over the daemon's control socket (keep-alive, as a long-lived tool's)."""

    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def call(connection, target, body):
    """Sends one awsJson1_1 request; returns (milliseconds until the whole answer, the answer's JSON)."""
    data = json.dumps(body)
    start = time.perf_counter()
    connection.request("POST", "/", data, {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"})
    response = connection.getresponse()
    payload = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 200:
        raise SystemExit("%s failed: %s" % (target, payload[:200]))
    return elapsed, json.loads(payload or b"{}")


def percentile(values, p):
    """The p-th percentile (0-100) of values, nearest rank."""
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def definition(root, name, image, extra=None):
    """A no-data definition running `image`, its output under `<root>/output/`."""
    value = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "file://%s/output/" % root},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    }
    value.update(extra or {})
    return value


def submit_to_spool(root, name, image, extra=None):
    """Writes a no-data definition running `image` as `<root>/r/spool/incoming/.<name>.json` and
    returns (temporary, final) paths: renaming the first to the second submits it."""
    temporary = "%s/r/spool/incoming/.%s.json" % (root, name)
    with open(temporary, "w") as f:
        json.dump(definition(root, name, image, extra), f)
    return temporary, "%s/r/spool/incoming/%s.json" % (root, name)


def wait_for_daemon(socket_path, log, timeout=30):
    """Waits until a daemon just started has its control socket (its log named if it never does)."""
    deadline = time.time() + timeout
    while not os.path.exists(socket_path):
        if time.time() > deadline:
            raise SystemExit("the daemon did not start; see %s" % log)
        time.sleep(0.05)


def step_seconds(describe, status):
    """How long a job's secondary status `status` lasted, from DescribeTrainingJob's answer."""
    for transition in describe["SecondaryStatusTransitions"]:
        if transition["Status"] == status:
            return transition["EndTime"] - transition["StartTime"]
    raise SystemExit("the job has no %s step: %s" % (status, describe["SecondaryStatusTransitions"]))


def run_to_completion(bin_dir, root, definition, timeout=1800):
    """Submits `definition` through the spool of the daemon in `root` and returns its
    DescribeTrainingJob answer once it completed (the benchmark stops if it fails, stops or takes
    longer than `timeout` seconds)."""
    name = definition["TrainingJobName"]
    temporary = os.path.join(root, "spool", "incoming", ".%s.json" % name)
    with open(temporary, "w") as f:
        json.dump(definition, f)
    os.rename(temporary, os.path.join(root, "spool", "incoming", name + ".json"))
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = subprocess.run([bin_dir + "/jobctl", "--root", root, "describe", name, "--json"], capture_output=True, text=True)
        if out.returncode == 0:
            describe = json.loads(out.stdout)
            if describe["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
                if describe["TrainingJobStatus"] != "Completed":
                    raise SystemExit("%s ended %s: %s" % (name, describe["TrainingJobStatus"], describe.get("FailureReason")))
                return describe
        time.sleep(0.2)
    raise SystemExit("%s did not end in time" % name)
