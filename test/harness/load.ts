/**
 * A steady client load on 465 and 587: one session after another on each port, each with TLS and AUTH, every
 * fifth with a message. Counts the sessions and keeps every failure with its reason, so that a test can assert that
 * a change cost no client anything.
 */
import { describeReply, replyText } from "../../verify/smtp";
import { openSecured, type Submission } from "./probes";

export interface LoadReport {
  sessions: number;
  messages: number;
  failures: { port: number; at: number; error: string }[];
}

export interface Load {
  /** Sessions and failures since the last call (a phase), then starts counting afresh. */
  phase(): LoadReport;
  stop(): Promise<LoadReport>;
}

export function startLoad(targets: Submission[], user: { name: string; password: string }, to: string): Load {
  let running = true;
  let current: LoadReport = { sessions: 0, messages: 0, failures: [] };
  const total: LoadReport = { sessions: 0, messages: 0, failures: [] };

  async function session(target: Submission, n: number): Promise<void> {
    const s = await openSecured(target);
    try {
      const auth = await s.authPlain(user.name, user.password);
      if (auth.code !== 235) throw new Error(`AUTH: ${auth.code} ${replyText(auth)}`);
      if (n % 5 === 0) {
        const sent = await s.sendMail({ from: user.name, to: [to], data: `Subject: load ${n}\r\n\r\nsteady load\r\n` });
        if (sent.end?.code !== 250) throw new Error(`message: ${sent.end?.code ?? sent.rcpt[0]?.code ?? sent.mail.code}`);
        current.messages += 1;
        total.messages += 1;
      }
    } catch (e) {
      // What the server said last tells a failed session's story better than the step that gave up.
      const last = s.lastReply ? describeReply(s.lastReply) : "none";
      throw new Error(`${e instanceof Error ? e.message : String(e)} (last reply: ${last})`);
    } finally {
      await s.quit();
    }
  }

  async function worker(target: Submission): Promise<void> {
    for (let n = 1; running; n++) {
      try {
        await session({ ...target, timeoutMs: 8_000 }, n);
      } catch (e) {
        const failure = { port: target.port, at: Date.now(), error: e instanceof Error ? e.message : String(e) };
        current.failures.push(failure);
        total.failures.push(failure);
      }
      current.sessions += 1;
      total.sessions += 1;
      // Each AUTH costs Dovecot a SHA512-CRYPT (50,000 rounds): a short pause keeps the load steady, not CPU-bound.
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  const workers = targets.map(worker);
  return {
    phase() {
      const done = current;
      current = { sessions: 0, messages: 0, failures: [] };
      return done;
    },
    async stop() {
      running = false;
      await Promise.all(workers);
      return total;
    },
  };
}
