// The serialised tensorflow.ServerDef that starts TensorFlow's gRPC server for one task of the
// cluster and configures its collective runtime. Only the fields the collective runtime reads
// are written; field numbers are those of tensorflow/core/protobuf/{tensorflow_server,cluster,
// config}.proto.
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

/** The job name every task of a simdeblur cluster runs under. */
export const JOB = 'worker';

/** TensorFlow's name of a task: `/job:worker/replica:0/task:<rank>`. */
export function taskName(rank: number): string {
  return `/job:${JOB}/replica:0/task:${rank}`;
}

/** What {@link serverDef} encodes: the whole cluster's addresses, this task's rank. */
export interface ServerDefOptions {
  /** `host:port` of every task, by rank. */
  readonly addresses: readonly string[];
  readonly rank: number;
  /**
   * Largest piece of a tensor transfer between workers, in bytes (default 64 KiB, the fastest
   * of the sizes measured in docs/distributed.md); 0: TensorFlow's default (4 KiB); negative:
   * one piece.
   */
  readonly recvBufMaxChunk?: number;
}

// ServerDef
const SERVER_CLUSTER = 1;
const SERVER_JOB_NAME = 2;
const SERVER_TASK_INDEX = 3;
const SERVER_DEFAULT_SESSION_CONFIG = 4;
const SERVER_PROTOCOL = 5;
// ClusterDef / JobDef (tasks is a map<int32, string>: entries with key 1, value 2)
const CLUSTER_JOB = 1;
const JOB_NAME = 1;
const JOB_TASKS = 2;
const MAP_KEY = 1;
const MAP_VALUE = 2;
// ConfigProto / ConfigProto.Experimental
const CONFIG_EXPERIMENTAL = 16;
const EXPERIMENTAL_COLLECTIVE_GROUP_LEADER = 1;
const EXPERIMENTAL_RECV_BUF_MAX_CHUNK = 4;

/** The default of {@link ServerDefOptions.recvBufMaxChunk}. */
export const DEFAULT_RECV_BUF_MAX_CHUNK = 1 << 16;

function message(write: (w: BinaryWriter) => void): Uint8Array {
  const w = new BinaryWriter();
  write(w);
  return w.finish();
}

/**
 * A serialised ServerDef for task `rank` of a job whose tasks listen at `addresses`; rank 0
 * leads the collective groups.
 */
export function serverDef(o: ServerDefOptions): Uint8Array {
  if (!Number.isInteger(o.rank) || o.rank < 0 || o.rank >= o.addresses.length) throw new Error(`serverDef: rank ${o.rank} is not in [0, ${o.addresses.length})`);
  const job = message((w) => {
    w.tag(JOB_NAME, WireType.LengthDelimited).string(JOB);
    o.addresses.forEach((addr, i) => {
      const entry = message((e) => e.tag(MAP_KEY, WireType.Varint).int32(i).tag(MAP_VALUE, WireType.LengthDelimited).string(addr));
      w.tag(JOB_TASKS, WireType.LengthDelimited).bytes(entry);
    });
  });
  const cluster = message((w) => w.tag(CLUSTER_JOB, WireType.LengthDelimited).bytes(job));
  const experimental = message((w) => {
    w.tag(EXPERIMENTAL_COLLECTIVE_GROUP_LEADER, WireType.LengthDelimited).string(taskName(0));
    const chunk = o.recvBufMaxChunk ?? DEFAULT_RECV_BUF_MAX_CHUNK;
    if (chunk !== 0) w.tag(EXPERIMENTAL_RECV_BUF_MAX_CHUNK, WireType.Varint).int32(chunk);
  });
  const config = message((w) => w.tag(CONFIG_EXPERIMENTAL, WireType.LengthDelimited).bytes(experimental));
  return message((w) => {
    w.tag(SERVER_CLUSTER, WireType.LengthDelimited).bytes(cluster);
    w.tag(SERVER_JOB_NAME, WireType.LengthDelimited).string(JOB);
    w.tag(SERVER_TASK_INDEX, WireType.Varint).int32(o.rank);
    w.tag(SERVER_DEFAULT_SESSION_CONFIG, WireType.LengthDelimited).bytes(config);
    w.tag(SERVER_PROTOCOL, WireType.LengthDelimited).string('grpc');
  });
}
