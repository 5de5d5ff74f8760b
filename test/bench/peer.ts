/**
 * The peer: ../shared/bench-peer/ansible, the playbook an ops team would write for the same job, run as a CI job
 * runs it: Debian's ansible-playbook, the playbook's own ansible.cfg (pipelining, ControlPersist), and a fresh
 * ControlPath directory per run, so that no SSH master is left over from the previous run. The playbook's folder is
 * copied to a scratch directory first, because its make-pki.sh writes next to itself.
 */
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { SandboxHost } from "../harness/sandbox";

export const PEER_SOURCE = resolve(__dirname, "../../../shared/bench-peer/ansible");

export interface PeerRun {
  ok: boolean;
  changed: number;
  output: string;
}

export class Peer {
  private readonly dir: string;

  constructor(hosts: SandboxHost[], private readonly password: string) {
    this.dir = mkdtempSync(join(tmpdir(), "ms-bench-peer-"));
    cpSync(PEER_SOURCE, this.dir, { recursive: true });
    execFileSync("bash", [join(this.dir, "make-pki.sh"), ...hosts.map(fqdn)], { stdio: "ignore" });
    const known = join(this.dir, "known_hosts");
    writeFileSync(known, hosts.map((h) => `${h.address} ${h.hostKey}\n`).join(""));
    const lines = hosts.map((h) => `${h.name} ansible_host=${h.address} mail_fqdn=${fqdn(h)} ansible_user=root ansible_ssh_private_key_file=${h.privateKeyPath}`);
    writeFileSync(
      join(this.dir, "inventory.ini"),
      `[mail_submission]\n${lines.join("\n")}\n\n[mail_submission:vars]\nansible_ssh_common_args='-o UserKnownHostsFile=${known} -o StrictHostKeyChecking=yes'\n`,
    );
  }

  /** Another user in the playbook's vars: the one-setting change. */
  addUser(name: string, envVar: string): void {
    const vars = join(this.dir, "group_vars/mail_submission.yml");
    const text = readFileSync(vars, "utf8").replace(
      /^mail_users:\n/m,
      `mail_users:\n  - name: ${name}\n    password: "{{ lookup('ansible.builtin.env', '${envVar}') }}"\n`,
    );
    writeFileSync(vars, text);
  }

  run(extraEnv: Record<string, string> = {}): Promise<PeerRun> {
    const controlPath = mkdtempSync(join(tmpdir(), "ms-bench-cp-"));
    return new Promise((done) => {
      const child = spawn("ansible-playbook", ["site.yml"], {
        cwd: this.dir,
        env: { ...process.env, ANSIBLE_CONFIG: join(this.dir, "ansible.cfg"), ANSIBLE_SSH_CONTROL_PATH_DIR: controlPath, ANSIBLE_NOCOLOR: "1", ALICE_PASSWORD: this.password, ...extraEnv },
      });
      let output = "";
      child.stdout.on("data", (d: Buffer) => (output += d.toString()));
      child.stderr.on("data", (d: Buffer) => (output += d.toString()));
      child.on("close", (code) => {
        // The PLAY RECAP: one line per host, "changed=N" among its counters.
        const changed = [...output.matchAll(/ changed=(\d+) /g)].reduce((s, m) => s + Number(m[1]), 0);
        done({ ok: code === 0, changed, output });
      });
    });
  }
}

export function fqdn(h: SandboxHost): string {
  return `${h.name}.sandbox.test`;
}
