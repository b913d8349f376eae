// Loads the Mesos v1 .proto files once (keepCase: messages use the proto's snake_case field names,
// which is also Mesos' JSON format). Resolved relative to this module so it works from src/ and dist/.
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';

const MESOS_PROTO = fileURLToPath(new URL('../../proto/mesos.proto', import.meta.url));
const SCHEDULER_PROTO = fileURLToPath(new URL('../../proto/scheduler.proto', import.meta.url));

let root: protobuf.Root | undefined;

/** The protobufjs root holding mesos.v1 and mesos.v1.scheduler (loaded lazily, once). */
export function mesosRoot(): protobuf.Root {
  if (!root) {
    const r = new protobuf.Root();
    r.loadSync([MESOS_PROTO, SCHEDULER_PROTO], { keepCase: true });
    r.resolveAll();
    root = r;
  }
  return root;
}

/** A message type by its full name, e.g. 'mesos.v1.scheduler.Call' or 'mesos.v1.TaskInfo'. */
export function messageType(fullName: string): protobuf.Type {
  return mesosRoot().lookupType(fullName);
}

/** An enum by its full name, e.g. 'mesos.v1.TaskState'. */
export function enumType(fullName: string): protobuf.Enum {
  return mesosRoot().lookupEnum(fullName);
}
