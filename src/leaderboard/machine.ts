// The machine a leaderboard ran on, for its conditions line (times are only comparable on it).
import os from 'node:os';

/** The machine: CPU, cores, memory, OS and Node, and the runtime the rows report. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly os: string;
  readonly node: string;
  /** Load average (1 min) when the leaderboard was written: a busy machine inflates times. */
  readonly load: number;
}

/** Describes this machine. */
export function thisMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.versions.node,
    load: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

/** `Intel Xeon … , 2 cores, 23 GB, Linux 6.1 x64`: one line. */
export function describeMachine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.os}`;
}
