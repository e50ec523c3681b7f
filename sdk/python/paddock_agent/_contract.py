"""The agent contract as the container sees it (docs/agent-authors.md#the-contract-in-one-table).

The operator sets these variables in every agent pod; the SDK reads them and nothing else.
"""

ENV_INPUTS = "PADDOCK_INPUTS"
ENV_INPUTS_FILE = "PADDOCK_INPUTS_FILE"
ENV_OUTPUTS_FILE = "PADDOCK_OUTPUTS_FILE"
ENV_WORKFLOW = "PADDOCK_WORKFLOW"
ENV_STEP = "PADDOCK_STEP"
ENV_ATTEMPT = "PADDOCK_ATTEMPT"
# Log threshold: debug, info (default), warn or error. Set it in the Agent's spec.env.
ENV_LOG_LEVEL = "LOG_LEVEL"

# The pod's termination message; used when PADDOCK_OUTPUTS_FILE is not set.
DEFAULT_OUTPUTS_FILE = "/dev/termination-log"
# The only writable place in an agent pod (the root filesystem is read-only).
DEFAULT_TMP_DIR = "/tmp"

# The kubelet keeps only the last 4096 bytes of a larger termination message, which then no longer
# parses (the attempt fails with OutputNotJSON). Counted in UTF-8 bytes.
MAX_OUTPUTS_BYTES = 4096
# The operator shows the first 512 characters of a failure message.
MAX_REASON_CHARS = 512

# Exit codes. The operator treats every non-zero code alike (a failed attempt, retried).
EXIT_OK = 0  # outputs valid and written
EXIT_FAILED = 1  # the agent raised (AgentFailure or any other exception)
EXIT_INVALID_INPUTS = 2  # inputs missing, not JSON, or not matching inputs_schema; run() not called
EXIT_INVALID_OUTPUTS = 3  # outputs not a JSON object or not matching outputs_schema; not written
EXIT_OUTPUTS_TOO_LARGE = 4  # outputs over MAX_OUTPUTS_BYTES; not written
