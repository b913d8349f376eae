// The in-memory form of Mesos v1 messages: plain objects with the proto's snake_case field names,
// enums as their string names, 64-bit integers as numbers, bytes as Buffer. The same shape comes out
// of both the protobuf and the JSON codec (see codec.ts). Only the fields we use are typed precisely;
// every message also accepts the rest of its proto fields through the codec.

export interface FrameworkID { value: string }
export interface OfferID { value: string }
export interface AgentID { value: string }
export interface TaskID { value: string }
export interface ExecutorID { value: string }
export interface OperationID { value: string }

export interface Label { key: string; value?: string }
export interface Labels { labels?: Label[] }
export interface DurationInfo { nanoseconds: number }
export interface TimeInfo { nanoseconds: number }
export interface Address { hostname?: string; ip?: string; port: number }

export type FrameworkCapabilityType =
  | 'UNKNOWN' | 'REVOCABLE_RESOURCES' | 'TASK_KILLING_STATE' | 'GPU_RESOURCES' | 'SHARED_RESOURCES'
  | 'PARTITION_AWARE' | 'MULTI_ROLE' | 'RESERVATION_REFINEMENT' | 'REGION_AWARE';

export interface FrameworkInfo {
  user: string;
  name: string;
  id?: FrameworkID;
  failover_timeout?: number;
  checkpoint?: boolean;
  role?: string;
  roles?: string[];
  hostname?: string;
  principal?: string;
  webui_url?: string;
  capabilities?: { type?: FrameworkCapabilityType }[];
  labels?: Labels;
}

export interface MasterInfo {
  id: string;
  ip: number;
  port: number;
  pid?: string;
  hostname?: string;
  version?: string;
  address?: Address;
}

export type ValueType = 'SCALAR' | 'RANGES' | 'SET' | 'TEXT';
export interface Range { begin: number; end: number }
export interface Ranges { range?: Range[] }

export interface Resource {
  name: string;
  type: ValueType;
  scalar?: { value: number };
  ranges?: Ranges;
  set?: { item?: string[] };
  role?: string;
  allocation_info?: { role?: string };
  reservation?: { type?: 'UNKNOWN' | 'STATIC' | 'DYNAMIC'; role?: string; principal?: string; labels?: Labels };
  reservations?: { type?: 'UNKNOWN' | 'STATIC' | 'DYNAMIC'; role?: string; principal?: string; labels?: Labels }[];
}

export interface Attribute {
  name: string;
  type: ValueType;
  scalar?: { value: number };
  ranges?: Ranges;
  set?: { item?: string[] };
  text?: { value: string };
}

export interface Offer {
  id: OfferID;
  framework_id: FrameworkID;
  agent_id: AgentID;
  hostname: string;
  resources?: Resource[];
  attributes?: Attribute[];
  executor_ids?: ExecutorID[];
  allocation_info?: { role?: string };
  unavailability?: { start: TimeInfo; duration?: DurationInfo };
}

export interface InverseOffer {
  id: OfferID;
  framework_id: FrameworkID;
  agent_id?: AgentID;
  unavailability: { start: TimeInfo; duration?: DurationInfo };
  resources?: Resource[];
}

export interface EnvironmentVariable { name: string; type?: 'UNKNOWN' | 'VALUE' | 'SECRET'; value?: string }

export interface CommandInfo {
  uris?: { value: string; executable?: boolean; extract?: boolean; cache?: boolean; output_file?: string }[];
  environment?: { variables?: EnvironmentVariable[] };
  shell?: boolean;
  value?: string;
  arguments?: string[];
  user?: string;
}

export interface PortMapping { host_port: number; container_port: number; protocol?: string }

export interface Image {
  type: 'APPC' | 'DOCKER';
  docker?: { name: string };
  cached?: boolean;
}

export interface NetworkInfo {
  name?: string;
  ip_addresses?: { protocol?: 'IPv4' | 'IPv6'; ip_address?: string }[];
  groups?: string[];
  labels?: Labels;
  port_mappings?: PortMapping[];
}

export interface ContainerInfo {
  type: 'DOCKER' | 'MESOS';
  hostname?: string;
  docker?: {
    image: string;
    network?: 'HOST' | 'BRIDGE' | 'NONE' | 'USER';
    port_mappings?: PortMapping[];
    privileged?: boolean;
    parameters?: { key: string; value: string }[];
    force_pull_image?: boolean;
  };
  mesos?: { image?: Image };
  network_infos?: NetworkInfo[];
}

export interface HealthCheck {
  type?: 'UNKNOWN' | 'COMMAND' | 'HTTP' | 'TCP';
  http?: { port: number; path?: string; scheme?: string; statuses?: number[] };
  tcp?: { port: number };
  command?: CommandInfo;
  delay_seconds?: number;
  interval_seconds?: number;
  timeout_seconds?: number;
  consecutive_failures?: number;
  grace_period_seconds?: number;
}

export interface KillPolicy { grace_period?: DurationInfo }

export interface DiscoveryInfo {
  visibility: 'FRAMEWORK' | 'CLUSTER' | 'EXTERNAL';
  name?: string;
  ports?: { ports?: { number: number; name?: string; protocol?: string }[] };
  labels?: Labels;
}

export interface TaskInfo {
  name: string;
  task_id: TaskID;
  agent_id: AgentID;
  resources?: Resource[];
  command?: CommandInfo;
  container?: ContainerInfo;
  health_check?: HealthCheck;
  kill_policy?: KillPolicy;
  data?: Buffer;
  labels?: Labels;
  discovery?: DiscoveryInfo;
}

export type TaskState =
  | 'TASK_STAGING' | 'TASK_STARTING' | 'TASK_RUNNING' | 'TASK_KILLING' | 'TASK_FINISHED' | 'TASK_FAILED'
  | 'TASK_KILLED' | 'TASK_ERROR' | 'TASK_LOST' | 'TASK_DROPPED' | 'TASK_UNREACHABLE' | 'TASK_GONE'
  | 'TASK_GONE_BY_OPERATOR' | 'TASK_UNKNOWN';

/** TaskStatus.Reason names (all of Mesos 1.x); see proto/mesos.proto for the numbers. */
export type TaskStatusReason =
  | 'REASON_COMMAND_EXECUTOR_FAILED' | 'REASON_CONTAINER_LAUNCH_FAILED' | 'REASON_CONTAINER_LIMITATION'
  | 'REASON_CONTAINER_LIMITATION_DISK' | 'REASON_CONTAINER_LIMITATION_MEMORY' | 'REASON_CONTAINER_PREEMPTED'
  | 'REASON_CONTAINER_UPDATE_FAILED' | 'REASON_MAX_COMPLETION_TIME_REACHED'
  | 'REASON_EXECUTOR_REGISTRATION_TIMEOUT' | 'REASON_EXECUTOR_REREGISTRATION_TIMEOUT'
  | 'REASON_EXECUTOR_TERMINATED' | 'REASON_EXECUTOR_UNREGISTERED' | 'REASON_FRAMEWORK_REMOVED'
  | 'REASON_GC_ERROR' | 'REASON_INVALID_FRAMEWORKID' | 'REASON_INVALID_OFFERS' | 'REASON_IO_SWITCHBOARD_EXITED'
  | 'REASON_MASTER_DISCONNECTED' | 'REASON_RECONCILIATION' | 'REASON_RESOURCES_UNKNOWN'
  | 'REASON_AGENT_DISCONNECTED' | 'REASON_AGENT_REMOVED' | 'REASON_AGENT_REMOVED_BY_OPERATOR'
  | 'REASON_AGENT_REREGISTERED' | 'REASON_AGENT_RESTARTED' | 'REASON_AGENT_UNKNOWN'
  | 'REASON_TASK_KILLED_DURING_LAUNCH' | 'REASON_TASK_CHECK_STATUS_UPDATED'
  | 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED' | 'REASON_TASK_GROUP_INVALID' | 'REASON_TASK_GROUP_UNAUTHORIZED'
  | 'REASON_TASK_INVALID' | 'REASON_TASK_UNAUTHORIZED' | 'REASON_TASK_UNKNOWN';

export type TaskStatusSource = 'SOURCE_MASTER' | 'SOURCE_AGENT' | 'SOURCE_EXECUTOR';

export interface TaskStatus {
  task_id: TaskID;
  state: TaskState;
  message?: string;
  source?: TaskStatusSource;
  reason?: TaskStatusReason;
  data?: Buffer;
  agent_id?: AgentID;
  executor_id?: ExecutorID;
  timestamp?: number;
  uuid?: Buffer;
  healthy?: boolean;
  labels?: Labels;
  container_status?: { network_infos?: NetworkInfo[]; executor_pid?: number };
  unreachable_time?: TimeInfo;
}

export interface Filters { refuse_seconds?: number }

export type OfferOperationType =
  | 'UNKNOWN' | 'LAUNCH' | 'LAUNCH_GROUP' | 'RESERVE' | 'UNRESERVE' | 'CREATE' | 'DESTROY'
  | 'GROW_VOLUME' | 'SHRINK_VOLUME' | 'CREATE_DISK' | 'DESTROY_DISK';

export interface OfferOperation {
  type: OfferOperationType;
  id?: OperationID;
  launch?: { task_infos?: TaskInfo[] };
  reserve?: { resources?: Resource[] };
  unreserve?: { resources?: Resource[] };
  create?: { volumes?: Resource[] };
  destroy?: { volumes?: Resource[] };
}

export interface OperationStatus {
  operation_id?: OperationID;
  state: string;
  message?: string;
  uuid?: { value: Buffer };
  agent_id?: AgentID;
}

export type EventType =
  | 'UNKNOWN' | 'SUBSCRIBED' | 'OFFERS' | 'INVERSE_OFFERS' | 'RESCIND' | 'RESCIND_INVERSE_OFFER' | 'UPDATE'
  | 'UPDATE_OPERATION_STATUS' | 'MESSAGE' | 'FAILURE' | 'ERROR' | 'HEARTBEAT';

export interface Subscribed {
  framework_id: FrameworkID;
  heartbeat_interval_seconds?: number;
  master_info?: MasterInfo;
}

/**
 * A scheduler event. `type` is one of EventType, or the raw value (as a string) for a type this
 * build does not know (a newer master): such events are logged and ignored by the client.
 */
export interface Event {
  type?: EventType | (string & {});
  subscribed?: Subscribed;
  offers?: { offers?: Offer[] };
  inverse_offers?: { inverse_offers?: InverseOffer[] };
  rescind?: { offer_id: OfferID };
  rescind_inverse_offer?: { inverse_offer_id: OfferID };
  update?: { status: TaskStatus };
  update_operation_status?: { status: OperationStatus };
  message?: { agent_id: AgentID; executor_id: ExecutorID; data: Buffer };
  failure?: { agent_id?: AgentID; executor_id?: ExecutorID; status?: number };
  error?: { message: string };
}

export type CallType =
  | 'UNKNOWN' | 'SUBSCRIBE' | 'TEARDOWN' | 'ACCEPT' | 'DECLINE' | 'ACCEPT_INVERSE_OFFERS'
  | 'DECLINE_INVERSE_OFFERS' | 'REVIVE' | 'KILL' | 'SHUTDOWN' | 'ACKNOWLEDGE' | 'ACKNOWLEDGE_OPERATION_STATUS'
  | 'RECONCILE' | 'RECONCILE_OPERATIONS' | 'MESSAGE' | 'REQUEST' | 'SUPPRESS' | 'UPDATE_FRAMEWORK';

export interface ReconcileTask { task_id: TaskID; agent_id?: AgentID }

/** A scheduler call (what the client POSTs to /api/v1/scheduler). */
export interface Call {
  framework_id?: FrameworkID;
  type: CallType;
  subscribe?: { framework_info: FrameworkInfo; suppressed_roles?: string[] };
  accept?: { offer_ids?: OfferID[]; operations?: OfferOperation[]; filters?: Filters };
  decline?: { offer_ids?: OfferID[]; filters?: Filters };
  accept_inverse_offers?: { inverse_offer_ids?: OfferID[]; filters?: Filters };
  decline_inverse_offers?: { inverse_offer_ids?: OfferID[]; filters?: Filters };
  revive?: { roles?: string[] };
  suppress?: { roles?: string[] };
  kill?: { task_id: TaskID; agent_id?: AgentID; kill_policy?: KillPolicy };
  shutdown?: { executor_id: ExecutorID; agent_id: AgentID };
  acknowledge?: { agent_id: AgentID; task_id: TaskID; uuid: Buffer };
  acknowledge_operation_status?: { agent_id?: AgentID; uuid: Buffer; operation_id: OperationID };
  reconcile?: { tasks?: ReconcileTask[] };
  reconcile_operations?: { operations?: { operation_id: OperationID; agent_id?: AgentID }[] };
  message?: { agent_id: AgentID; executor_id: ExecutorID; data: Buffer };
  update_framework?: { framework_info: FrameworkInfo; suppressed_roles?: string[] };
}

/** Terminal task states (the task is gone and its resources released). TASK_LOST is not always terminal. */
export const TERMINAL_TASK_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_DROPPED', 'TASK_GONE',
]);
