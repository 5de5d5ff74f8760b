/** The bench's figures as a Markdown table, as TSV rows, and as an SVG chart of the times and ratios. */
import { STEPS } from "../../components/steps";
import { median } from "./measure";

export interface ScaleResult {
  hosts: number;
  /** CPU seconds of the bare installs of `hosts` hosts, over the machine's cores. */
  cpuFloor: number;
  ours: {
    converge: number;
    convergeHostCpu: number;
    steps: Record<string, number>;
    noopUp: number[];
    noopPreview: number[];
    noopLogins: number[];
    change: number;
    changeSteps: string[];
  };
  peer: { converge: number; convergeHostCpu: number; noop: number[]; noopLogins: number[]; change: number; changeChanged: number };
}

export interface Results {
  date: string;
  machine: string;
  commit: string;
  /** The bare apt-get install of the same packages on one fresh host. */
  floor: { seconds: number; cpu: number };
  /** Fixed costs inside a no-op up, seconds (bench.ts, noopParts). */
  noopParts: { cliStart: number; nodeStart: number; programLoad: number };
  scales: ScaleResult[];
}

const f = (x: number) => x.toFixed(1);
const range = (xs: number[]) => `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
const ratio = (a: number, b: number) => (b === 0 ? "–" : (a / b).toFixed(2));

export function renderTable(r: Results): string {
  const lines = [
    `Bench ${r.date.slice(0, 10)}, ${r.machine}${r.commit ? `, commit ${r.commit}` : ""}. Seconds; medians (min–max) of the no-op repetitions.`,
    `Floor: the bare apt-get install on one fresh host, ${f(r.floor.seconds)} s (${f(r.floor.cpu)} CPU-s).`,
    "",
    "| hosts | phase | peer s | ours s | ours/peer | SSH logins per host (peer/ours) | notes |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const s of r.scales) {
    const oursNoop = median(s.ours.noopUp);
    const peerNoop = median(s.peer.noop);
    lines.push(
      `| ${s.hosts} | converge | ${f(s.peer.converge)} | ${f(s.ours.converge)} | ${ratio(s.ours.converge, s.peer.converge)} | | ours − floor: ${f(s.ours.converge - r.floor.seconds)} s; CPU floor ${f(s.cpuFloor)} s (ours ${ratio(s.ours.converge, s.cpuFloor)}×) |`,
      `| ${s.hosts} | no-op up | ${range(s.peer.noop)} | ${range(s.ours.noopUp)} | ${ratio(oursNoop, peerNoop)} | ${median(s.peer.noopLogins)}/${median(s.ours.noopLogins)} | |`,
      `| ${s.hosts} | no-op preview | | ${range(s.ours.noopPreview)} | ${ratio(median(s.ours.noopPreview), peerNoop)} | –/0 | |`,
      `| ${s.hosts} | a new user | ${f(s.peer.change)} | ${f(s.ours.change)} | ${ratio(s.ours.change, s.peer.change)} | | ours ran: ${s.ours.changeSteps.join(", ")}; peer: changed=${s.peer.changeChanged} |`,
    );
  }
  const first = r.scales[0];
  const one = first?.ours.converge ?? 0;
  for (const s of r.scales.slice(1)) lines.push("", `${s.hosts} hosts: ours ${ratio(s.ours.converge, one)}× our 1-host converge, the peer ${ratio(s.peer.converge, first?.peer.converge ?? 0)}× its own.`);
  lines.push("", "Where our converge goes (median seconds per step and host, from the engine's events):", "", "| hosts | " + STEP_ORDER.join(" | ") + " |", "|---|" + STEP_ORDER.map(() => "---").join("|") + "|");
  for (const s of r.scales) lines.push(`| ${s.hosts} | ${STEP_ORDER.map((k) => f(s.ours.steps[k] ?? 0)).join(" | ")} |`);
  if (first !== undefined) {
    const p = r.noopParts;
    const noop = median(first.ours.noopUp);
    const rest = noop - p.cliStart - p.nodeStart - p.programLoad;
    lines.push(
      "",
      `Where our no-op up of ${first.hosts} host(s) goes (${f(noop)} s): CLI start ${p.cliStart.toFixed(2)} s, Node.js start ${p.nodeStart.toFixed(2)} s, ` +
        `program load (Pulumi SDK, provider SDKs, our code; compile cache warm) ${p.programLoad.toFixed(2)} s; the engine ${f(rest)} s (language host and plugins starting, state read and written, each resource diffed).`,
    );
  }
  return `${lines.join("\n")}\n`;
}

const STEP_ORDER = STEPS.map((s) => s.name);

export function renderTsv(r: Results): string {
  const rows = [["hosts", "tool", "phase", "seconds"].join("\t")];
  for (const s of r.scales) {
    rows.push([s.hosts, "ours", "converge", s.ours.converge].join("\t"), [s.hosts, "peer", "converge", s.peer.converge].join("\t"));
    for (const x of s.ours.noopUp) rows.push([s.hosts, "ours", "noop-up", x].join("\t"));
    for (const x of s.ours.noopPreview) rows.push([s.hosts, "ours", "noop-preview", x].join("\t"));
    for (const x of s.peer.noop) rows.push([s.hosts, "peer", "noop", x].join("\t"));
    rows.push([s.hosts, "ours", "change", s.ours.change].join("\t"), [s.hosts, "peer", "change", s.peer.change].join("\t"), [s.hosts, "cpu-floor", "converge", s.cpuFloor].join("\t"));
    for (const [step, x] of Object.entries(s.ours.steps)) rows.push([s.hosts, "ours", `step-${step}`, x].join("\t"));
  }
  return `${rows.join("\n")}\n`;
}

interface Series {
  label: string;
  color: string;
  dash?: string;
  points: [number, number][];
}

/** A line panel: hosts (log scale) against values, with its own y range. */
function panel(x0: number, title: string, yLabel: string, series: Series[], yMax: number, guide?: number): string {
  const w = 420;
  const h = 300;
  const hostsMax = Math.max(...series.flatMap((s) => s.points.map((p) => p[0])), 1);
  const px = (hosts: number) => x0 + 50 + (hostsMax === 1 ? w / 2 : (Math.log(hosts) / Math.log(hostsMax)) * w);
  const py = (v: number) => 60 + h - (v / yMax) * h;
  const out = [`<text x="${x0 + 50}" y="40" font-size="15" font-weight="bold">${title}</text>`];
  out.push(`<line x1="${x0 + 50}" y1="${60 + h}" x2="${x0 + 50 + w}" y2="${60 + h}" stroke="#444"/><line x1="${x0 + 50}" y1="60" x2="${x0 + 50}" y2="${60 + h}" stroke="#444"/>`);
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    out.push(`<text x="${x0 + 44}" y="${py(v) + 4}" font-size="11" text-anchor="end">${v.toFixed(v < 10 ? 1 : 0)}</text>`);
  }
  for (const hosts of [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))]) {
    out.push(`<text x="${px(hosts)}" y="${60 + h + 16}" font-size="11" text-anchor="middle">${hosts}</text>`);
  }
  out.push(`<text x="${x0 + 50 + w / 2}" y="${60 + h + 34}" font-size="12" text-anchor="middle">hosts</text>`);
  out.push(`<text x="${x0 + 12}" y="${60 + h / 2}" font-size="12" transform="rotate(-90 ${x0 + 12} ${60 + h / 2})" text-anchor="middle">${yLabel}</text>`);
  if (guide !== undefined) out.push(`<line x1="${x0 + 50}" y1="${py(guide)}" x2="${x0 + 50 + w}" y2="${py(guide)}" stroke="#999" stroke-dasharray="2 3"/>`);
  series.forEach((s, i) => {
    const pts = s.points.map(([hosts, v]) => `${px(hosts).toFixed(1)},${py(v).toFixed(1)}`).join(" ");
    out.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`);
    for (const [hosts, v] of s.points) out.push(`<circle cx="${px(hosts).toFixed(1)}" cy="${py(v).toFixed(1)}" r="3" fill="${s.color}"/>`);
    out.push(`<text x="${x0 + 60}" y="${75 + i * 15}" font-size="11" fill="${s.color}">${s.label}</text>`);
  });
  return out.join("\n");
}

export function renderChart(r: Results): string {
  const at = (pick: (s: ScaleResult) => number): [number, number][] => r.scales.map((s) => [s.hosts, pick(s)]);
  const times: Series[] = [
    { label: "peer converge", color: "#d62728", points: at((s) => s.peer.converge) },
    { label: "ours converge", color: "#1f77b4", points: at((s) => s.ours.converge) },
    { label: "CPU floor (installs' CPU / cores)", color: "#555", dash: "6 4", points: at((s) => s.cpuFloor) },
    { label: "peer no-op", color: "#ff9896", points: at((s) => median(s.peer.noop)) },
    { label: "ours no-op up", color: "#aec7e8", points: at((s) => median(s.ours.noopUp)) },
  ];
  const ratios: Series[] = [
    { label: "converge ours/peer", color: "#1f77b4", points: at((s) => s.ours.converge / s.peer.converge) },
    { label: "no-op up ours/peer", color: "#aec7e8", points: at((s) => median(s.ours.noopUp) / median(s.peer.noop)) },
  ];
  const yTimes = Math.max(...times.flatMap((s) => s.points.map((p) => p[1])), 1) * 1.1;
  const yRatios = Math.max(...ratios.flatMap((s) => s.points.map((p) => p[1])), 1.2) * 1.1;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="430" font-family="sans-serif">`,
    `<rect width="1000" height="430" fill="white"/>`,
    `<text x="20" y="18" font-size="12" fill="#333">mail-submission (pulumi up) vs the Ansible peer: ${r.date.slice(0, 16).replace("T", " ")} UTC, ${r.machine}${r.commit ? `, commit ${r.commit}` : ""}</text>`,
    panel(0, "Seconds", "seconds", times, yTimes),
    panel(500, "Ratios ours/peer (1 = same)", "ratio", ratios, yRatios, 1),
    `</svg>`,
    "",
  ].join("\n");
}
