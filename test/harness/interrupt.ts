/**
 * Interrupting a step at a known point. A step passes named checkpoints (lib.sh `checkpoint`); when the file
 * /run/mail-submission-test/hold-NAME exists, the step waits there and says so (NAME.reached). The suite then cuts the
 * step's SSH connection, or kills the step outright, and lets it go on.
 */
import { hostRoot } from "./probes";
import type { SandboxHost } from "./sandbox";

const DIR = "/run/mail-submission-test";

export async function hold(sb: SandboxHost, checkpoint: string): Promise<void> {
  await hostRoot(sb, `mkdir -p ${DIR} && rm -f ${DIR}/hold-${checkpoint}.reached && : >${DIR}/hold-${checkpoint}`);
}

/** Resolves once a step waits at `checkpoint`. */
export async function reached(sb: SandboxHost, checkpoint: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await hostRoot(sb, `test -e ${DIR}/hold-${checkpoint}.reached && echo yes || true`)).trim() === "yes") return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`no step reached checkpoint ${checkpoint} on ${sb.name} within ${timeoutMs} ms`);
}

export async function release(sb: SandboxHost, checkpoint: string): Promise<void> {
  await hostRoot(sb, `rm -f ${DIR}/hold-${checkpoint} ${DIR}/hold-${checkpoint}.reached`);
}

/** The step's own process: `bash -s apply N` (or remove), as the component starts it. */
const STEP_PID = "pgrep -xf 'bash -s (apply|remove)( [0-9]+)?' | head -n 1";

/** Kills the SSH connection the waiting step runs in (its sshd process), as a network cut would end it. */
export async function cutConnection(sb: SandboxHost): Promise<void> {
  await hostRoot(
    sb,
    `p=$(${STEP_PID}); [ -n "$p" ] || { echo "no step running" >&2; exit 1; }
     while [ "$p" -gt 1 ]; do
       case "$(ps -o comm= -p "$p")" in sshd|sshd-session) kill -9 "$p"; exit 0 ;; esac
       p=$(ps -o ppid= -p "$p" | tr -d ' ')
     done
     echo "no sshd above the step" >&2; exit 1`,
  );
}

/** Kills the waiting step itself and everything it started, as a crash of the host's side would. */
export async function killStep(sb: SandboxHost): Promise<void> {
  await hostRoot(sb, `p=$(${STEP_PID}); [ -n "$p" ] || exit 1; pkill -9 -P "$p" || true; kill -9 "$p"`);
}

/** Waits until no step holds its lock (a step cut off from its connection runs on to its end). */
export async function stepsDone(sb: SandboxHost): Promise<void> {
  await hostRoot(sb, "for lock in /run/mail-submission/*.lock; do [ -e \"$lock\" ] && flock -w 300 \"$lock\" true; done; true");
}
