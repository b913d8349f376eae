// The Mesos v1 message shapes the framework uses, from src/mesos (plain objects, snake_case, enum names).
export type {
  AgentID, CommandInfo, ContainerInfo, DurationInfo, Filters, FrameworkInfo, HealthCheck, Label, Labels, Offer,
  OfferOperation, PortMapping, Range, Resource, Subscribed, TaskInfo, TaskState, TaskStatus,
} from '../mesos/types.js';
