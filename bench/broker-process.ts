/**
 * The broker under test as its own process (`node --import tsx src/server.ts`), as it
 * runs in production: its CPU time and memory are its own, read from /proc, and the load
 * generator does not share its event loop. The end-to-end tests that need a real process
 * (SIGKILL, SIGSTOP, several instances on one database) start theirs here too, so there
 * is one way to spawn, wait for and stop a broker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const CLOCK_TICKS_PER_S = 100;

export interface BrokerProcess {
  url: string;
  pid: number;
  adminToken: string;
  /** Resident set size in KiB (VmRSS). */
  rssKib(): Promise<number>;
  /** User + system CPU seconds the process has used so far. */
  cpuSeconds(): Promise<number>;
  /** A Prometheus gauge from /metrics (e.g. nodejs_heap_size_used_bytes). */
  metric(name: string): Promise<number | null>;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Sends a signal and returns at once: SIGSTOP/SIGCONT to freeze and thaw it, SIGTERM to watch a shutdown. */
  signal(signal: NodeJS.Signals): void;
  /** Settles when the process has exited, with its exit code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (SIGKILL after 20 s) and waits for the exit; a stopped (SIGSTOP) process is continued so it can act on it. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  output(): string;
}

/** A broker the bench's calls go to: its process, a runtime token for the bench tenant, and a short name for the report (its INSTANCE_ID, or "A"). */
export interface BrokerTarget {
  name: string;
  broker: BrokerProcess;
  token: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function readRssKib(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN);
}

export async function readCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

/**
 * Starts a broker and resolves once `/healthz` answers. Without `databaseUrl` it runs on
 * the embedded database (set `DATA_DIR` in `env`); a DATABASE_URL inherited from this
 * process's environment is not passed on. `env.ADMIN_TOKEN`, if given, is the admin token.
 */
export async function startBrokerProcess(options: { databaseUrl?: string; env?: Record<string, string>; nodeArgs?: string[] }): Promise<BrokerProcess> {
  const port = await freePort();
  const adminToken = options.env?.ADMIN_TOKEN ?? `adm_${randomBytes(12).toString('hex')}`;
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'src/server.ts'], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: options.databaseUrl ?? '', PORT: String(port), HOST: '127.0.0.1', ADMIN_TOKEN: adminToken, LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the broker exited (${child.exitCode ?? child.signalCode}) before listening:\n${output}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the broker did not answer /healthz within 60 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  const pid = child.pid!;
  return {
    url,
    pid,
    adminToken,
    rssKib: () => readRssKib(pid),
    cpuSeconds: () => readCpuSeconds(pid),
    async metric(name) {
      const text = await (await fetch(`${url}/metrics`)).text();
      const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `) || candidate.startsWith(`${name}{`));
      return line ? Number(line.split(' ').at(-1)) : null;
    },
    async admin(method, path, body) {
      const response = await fetch(new URL(path, url), {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    signal(signal) {
      child.kill(signal);
    },
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      // A stopped process holds every signal but SIGKILL until it is continued.
      if (signal !== 'SIGKILL') child.kill('SIGCONT');
      const timeout = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timeout);
    },
    output: () => output,
  };
}
