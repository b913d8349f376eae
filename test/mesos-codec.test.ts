import { describe, expect, it } from 'vitest';
import {
  decodeCall, decodeEvent, decodeMessage, encodeCall, encodeEvent, encodeMessage, formatFromContentType,
  MesosCodecError,
} from '../src/mesos/codec.js';
import { enumType, messageType } from '../src/mesos/proto.js';
import type { Call, Event } from '../src/mesos/types.js';
import { dField, lField, sField, vField } from './support/protowire.js';

describe('proto definitions match the Mesos v1 field table', () => {
  const field = (type: string, name: string) => {
    const f = messageType(type).fields[name];
    if (!f) throw new Error(`${type}.${name} missing`);
    return { id: f.id, type: f.type, rule: f.required ? 'required' : f.repeated ? 'repeated' : 'optional' };
  };

  it('has the scheduler Call/Event numbers and enums', () => {
    expect(field('mesos.v1.scheduler.Call', 'framework_id').id).toBe(1);
    expect(field('mesos.v1.scheduler.Call', 'revive').id).toBe(15);
    expect(field('mesos.v1.scheduler.Call', 'suppress').id).toBe(16);
    expect(field('mesos.v1.scheduler.Call', 'update_framework').id).toBe(19);
    expect(field('mesos.v1.scheduler.Call.Acknowledge', 'uuid')).toEqual({ id: 3, type: 'bytes', rule: 'required' });
    expect(field('mesos.v1.scheduler.Event', 'update_operation_status').id).toBe(11);
    expect(field('mesos.v1.scheduler.Event.Subscribed', 'heartbeat_interval_seconds'))
      .toEqual({ id: 2, type: 'double', rule: 'optional' });
    expect(enumType('mesos.v1.scheduler.Call.Type').values).toMatchObject({
      UNKNOWN: 0, SUBSCRIBE: 1, TEARDOWN: 2, ACCEPT: 3, DECLINE: 4, REVIVE: 5, KILL: 6, SHUTDOWN: 7, ACKNOWLEDGE: 8,
      RECONCILE: 9, MESSAGE: 10, REQUEST: 11, SUPPRESS: 12, ACCEPT_INVERSE_OFFERS: 13, DECLINE_INVERSE_OFFERS: 14,
      ACKNOWLEDGE_OPERATION_STATUS: 15, RECONCILE_OPERATIONS: 16, UPDATE_FRAMEWORK: 17,
    });
    expect(enumType('mesos.v1.scheduler.Event.Type').values).toMatchObject({
      SUBSCRIBED: 1, OFFERS: 2, RESCIND: 3, UPDATE: 4, MESSAGE: 5, FAILURE: 6, ERROR: 7, HEARTBEAT: 8,
      INVERSE_OFFERS: 9, RESCIND_INVERSE_OFFER: 10, UPDATE_OPERATION_STATUS: 11,
    });
  });

  it('has the mesos.v1 messages, enums and defaults', () => {
    expect(field('mesos.v1.FrameworkInfo', 'roles')).toEqual({ id: 12, type: 'string', rule: 'repeated' });
    expect(messageType('mesos.v1.FrameworkInfo').fields.failover_timeout!.defaultValue).toBe(0);
    expect(messageType('mesos.v1.Filters').fields.refuse_seconds!.defaultValue).toBe(5);
    expect(messageType('mesos.v1.CommandInfo').fields.shell!.defaultValue).toBe(true);
    expect(messageType('mesos.v1.Image').fields.cached!.defaultValue).toBe(true);
    expect(messageType('mesos.v1.ContainerInfo.DockerInfo').fields.network!.defaultValue).toBe(1) // HOST;
    expect(field('mesos.v1.Offer', 'allocation_info').id).toBe(10);
    expect(field('mesos.v1.Resource', 'allocation_info').id).toBe(11);
    expect(field('mesos.v1.Value.Range', 'end')).toEqual({ id: 2, type: 'uint64', rule: 'required' });
    expect(field('mesos.v1.TaskStatus', 'uuid')).toEqual({ id: 11, type: 'bytes', rule: 'optional' });
    expect(field('mesos.v1.TaskInfo', 'kill_policy').id).toBe(12);
    expect(field('mesos.v1.HealthCheck', 'tcp').id).toBe(9);
    expect(enumType('mesos.v1.TaskState').values).toMatchObject({
      TASK_STARTING: 0, TASK_RUNNING: 1, TASK_FINISHED: 2, TASK_FAILED: 3, TASK_KILLED: 4, TASK_LOST: 5,
      TASK_STAGING: 6, TASK_ERROR: 7, TASK_KILLING: 8, TASK_DROPPED: 9, TASK_UNREACHABLE: 10, TASK_GONE: 11,
      TASK_GONE_BY_OPERATOR: 12, TASK_UNKNOWN: 13,
    });
    expect(enumType('mesos.v1.TaskStatus.Reason').values).toMatchObject({
      REASON_COMMAND_EXECUTOR_FAILED: 0, REASON_EXECUTOR_TERMINATED: 1, REASON_INVALID_OFFERS: 6,
      REASON_CONTAINER_LIMITATION_MEMORY: 8, REASON_RECONCILIATION: 9, REASON_AGENT_DISCONNECTED: 10,
      REASON_AGENT_REMOVED: 11, REASON_AGENT_UNKNOWN: 13, REASON_TASK_INVALID: 14, REASON_CONTAINER_LAUNCH_FAILED: 21,
    });
    expect(enumType('mesos.v1.FrameworkInfo.Capability.Type').values).toMatchObject({
      REVOCABLE_RESOURCES: 1, TASK_KILLING_STATE: 2, GPU_RESOURCES: 3, SHARED_RESOURCES: 4, PARTITION_AWARE: 5,
      MULTI_ROLE: 6, RESERVATION_REFINEMENT: 7, REGION_AWARE: 8,
    });
  });
});

describe('protobuf codec, byte-exact against hand-built wire bytes', () => {
  // Call{type: SUBSCRIBE, subscribe{framework_info{user, name, failover_timeout, checkpoint, capabilities, roles}}}
  const frameworkInfoBytes = Buffer.concat([
    sField(1, 'root'),
    sField(2, 'mesos-miner'),
    dField(4, 604800),
    vField(5, true),
    lField(10, vField(1, 5)), // capability PARTITION_AWARE
    lField(10, vField(1, 6)), // capability MULTI_ROLE
    sField(12, 'mining'),
  ]);
  const subscribeBytes = Buffer.concat([vField(2, 1), lField(3, lField(1, frameworkInfoBytes))]);
  const subscribe: Call = {
    type: 'SUBSCRIBE',
    subscribe: {
      framework_info: {
        user: 'root', name: 'mesos-miner', failover_timeout: 604800, checkpoint: true,
        capabilities: [{ type: 'PARTITION_AWARE' }, { type: 'MULTI_ROLE' }], roles: ['mining'],
      },
    },
  };

  it('encodes SUBSCRIBE exactly like the hand-built bytes', () => {
    expect(encodeCall(subscribe, 'protobuf').toString('hex')).toBe(subscribeBytes.toString('hex'));
    // type=SUBSCRIBE is field 2 varint (0x10 0x01); subscribe is field 3 length-delimited (0x1a).
    expect(subscribeBytes.subarray(0, 3).toString('hex')).toBe('10011a');
  });

  it('decodes SUBSCRIBE from the hand-built bytes, also with fields in another order', () => {
    expect(decodeCall(subscribeBytes, 'protobuf')).toEqual(subscribe);
    const reordered = Buffer.concat([lField(3, lField(1, frameworkInfoBytes)), vField(2, 1)]);
    expect(decodeCall(reordered, 'protobuf')).toEqual(subscribe);
  });

  it('decodes an OFFERS event with a ports range and allocation_info', () => {
    const ranges = lField(4, lField(1, vField(1, 31000), vField(2, 32000)));
    const portsResource = Buffer.concat([sField(1, 'ports'), vField(2, 1), ranges, lField(11, sField(1, 'mining'))]);
    const cpusResource = Buffer.concat([sField(1, 'cpus'), vField(2, 0), lField(3, dField(1, 3.5))]);
    const offer = Buffer.concat([
      lField(1, sField(1, 'offer-1')), lField(2, sField(1, 'fw-1')), lField(3, sField(1, 'agent-1')),
      sField(4, 'node1.example'), lField(5, cpusResource), lField(5, portsResource), lField(10, sField(1, 'mining')),
    ]);
    const bytes = Buffer.concat([vField(1, 2), lField(3, lField(1, offer))]);
    const expected: Event = {
      type: 'OFFERS',
      offers: {
        offers: [{
          id: { value: 'offer-1' }, framework_id: { value: 'fw-1' }, agent_id: { value: 'agent-1' },
          hostname: 'node1.example',
          resources: [
            { name: 'cpus', type: 'SCALAR', scalar: { value: 3.5 } },
            { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] }, allocation_info: { role: 'mining' } },
          ],
          allocation_info: { role: 'mining' },
        }],
      },
    };
    expect(decodeEvent(bytes, 'protobuf')).toEqual(expected);
    expect(encodeEvent(expected, 'protobuf').toString('hex')).toBe(bytes.toString('hex'));
  });

  it('keeps an explicit zero enum (TASK_STARTING), uuid bytes and 64-bit integers', () => {
    const uuid = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const status = Buffer.concat([
      lField(1, sField(1, 'miner-1')), vField(2, 0), lField(5, sField(1, 'agent-9')), vField(9, 1), vField(10, 21),
      lField(11, uuid), lField(14, vField(1, 1_700_000_000_123_456_789n)),
    ]);
    const bytes = Buffer.concat([vField(1, 4), lField(5, lField(1, status))]);
    const event = decodeEvent(bytes, 'protobuf');
    expect(event.type).toBe('UPDATE');
    const s = event.update!.status;
    expect(s.state).toBe('TASK_STARTING');
    expect(s.source).toBe('SOURCE_AGENT');
    expect(s.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(Buffer.isBuffer(s.uuid)).toBe(true);
    expect(s.uuid!.equals(uuid)).toBe(true);
    expect(s.unreachable_time!.nanoseconds).toBe(Number(1_700_000_000_123_456_789n));
    // ACKNOWLEDGE carries those bytes back unchanged.
    const ack = encodeCall({
      type: 'ACKNOWLEDGE', framework_id: { value: 'fw' },
      acknowledge: { agent_id: s.agent_id!, task_id: s.task_id, uuid: s.uuid! },
    }, 'protobuf');
    const expectedAck = Buffer.concat([
      lField(1, sField(1, 'fw')), vField(2, 8),
      lField(8, lField(1, sField(1, 'agent-9')), lField(2, sField(1, 'miner-1')), lField(3, uuid)),
    ]);
    expect(ack.toString('hex')).toBe(expectedAck.toString('hex'));
  });

  it('skips unknown fields (from a newer Mesos) and reports an unknown event type as a string', () => {
    const bytes = Buffer.concat([vField(1, 99), lField(100, Buffer.from('x')), vField(200, 7)]);
    expect(decodeEvent(bytes, 'protobuf')).toEqual({ type: '99' });
    const hb = Buffer.concat([vField(1, 8), sField(77, 'future')]);
    expect(decodeEvent(hb, 'protobuf')).toEqual({ type: 'HEARTBEAT' });
  });
});

describe('JSON codec (Mesos JSON: enum names, base64 bytes, numbers for 64-bit ints)', () => {
  it('decodes Mesos-style JSON to the same in-memory form as protobuf', () => {
    const uuid = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
    const json = JSON.stringify({
      type: 'UPDATE',
      update: {
        status: {
          task_id: { value: 'server-1' }, state: 'TASK_RUNNING', agent_id: { value: 'a1' }, source: 'SOURCE_EXECUTOR',
          uuid: uuid.toString('base64'), timestamp: 1700000000.5, unreachable_time: { nanoseconds: 1700000000000000000 },
        },
      },
    });
    const fromJson = decodeEvent(Buffer.from(json), 'json');
    const fromProto = decodeEvent(encodeEvent(fromJson, 'protobuf'), 'protobuf');
    expect(fromJson).toEqual(fromProto);
    expect(fromJson.update!.status.uuid!.equals(uuid)).toBe(true);
    expect(fromJson.update!.status.unreachable_time!.nanoseconds).toBe(1700000000000000000);
  });

  it('encodes calls as Mesos JSON', () => {
    const call: Call = {
      type: 'DECLINE', framework_id: { value: 'fw' },
      decline: { offer_ids: [{ value: 'o1' }, { value: 'o2' }], filters: { refuse_seconds: 3600 } },
    };
    const json = JSON.parse(encodeCall(call, 'json').toString());
    expect(json).toEqual({
      type: 'DECLINE', framework_id: { value: 'fw' },
      decline: { offer_ids: [{ value: 'o1' }, { value: 'o2' }], filters: { refuse_seconds: 3600 } },
    });
    const ack = JSON.parse(encodeCall({
      type: 'ACKNOWLEDGE', framework_id: { value: 'fw' },
      acknowledge: { agent_id: { value: 'a' }, task_id: { value: 't' }, uuid: Buffer.from([1, 2, 3]) },
    }, 'json').toString());
    expect(ack.acknowledge.uuid).toBe('AQID');
    expect(decodeCall(Buffer.from(JSON.stringify(json)), 'json')).toEqual(call);
  });

  it('round-trips a full LAUNCH with docker container, ports, env, health check and labels in both formats', () => {
    const call: Call = {
      type: 'ACCEPT', framework_id: { value: 'fw' },
      accept: {
        offer_ids: [{ value: 'o1' }],
        operations: [{
          type: 'LAUNCH',
          launch: {
            task_infos: [{
              name: 'server', task_id: { value: 'server-1' }, agent_id: { value: 'a1' },
              resources: [
                { name: 'cpus', type: 'SCALAR', scalar: { value: 1 } },
                { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31005, end: 31005 }] } },
              ],
              command: {
                shell: false, value: 'mesos-miner', arguments: ['serve', '--port', '3333'],
                environment: { variables: [{ name: 'SECRET', value: 's3cret' }] },
              },
              container: {
                type: 'DOCKER',
                docker: { image: 'mesos-miner:latest', network: 'BRIDGE', port_mappings: [{ host_port: 31005, container_port: 3333, protocol: 'tcp' }], force_pull_image: true },
              },
              health_check: { type: 'TCP', tcp: { port: 3333 }, interval_seconds: 10 },
              kill_policy: { grace_period: { nanoseconds: 5_000_000_000 } },
              labels: { labels: [{ key: 'role', value: 'server' }] },
            }],
          },
        }],
        filters: { refuse_seconds: 120 },
      },
    };
    expect(decodeCall(encodeCall(call, 'protobuf'), 'protobuf')).toEqual(call);
    expect(decodeCall(encodeCall(call, 'json'), 'json')).toEqual(call);
  });

  it('keeps an unknown JSON event type visible', () => {
    expect(decodeEvent(Buffer.from('{"type":"SOMETHING_NEW","something_new":{}}'), 'json').type).toBe('SOMETHING_NEW');
  });
});

describe('broken input gives a clear MesosCodecError', () => {
  it('rejects truncated and garbage protobuf', () => {
    const good = encodeEvent({ type: 'ERROR', error: { message: 'boom' } }, 'protobuf');
    expect(() => decodeEvent(good.subarray(0, good.length - 2), 'protobuf')).toThrow(MesosCodecError);
    expect(() => decodeEvent(Buffer.from('ffffffffffffffffffff01', 'hex'), 'protobuf')).toThrow(/cannot decode mesos.v1.scheduler.Event from protobuf/);
  });

  it('rejects an event missing a required field', () => {
    // Event{type: ERROR, error{}}: Error.message is required.
    expect(() => decodeEvent(Buffer.concat([vField(1, 7), lField(8)]), 'protobuf')).toThrow(/missing required 'message'/);
  });

  it('rejects invalid JSON, non-objects, missing required fields and bad base64', () => {
    expect(() => decodeEvent(Buffer.from('{"type":'), 'json')).toThrow(/invalid JSON/);
    expect(() => decodeEvent(Buffer.from('[1,2]'), 'json')).toThrow(/expected a JSON object/);
    expect(() => decodeEvent(Buffer.from('{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"}}}}'), 'json'))
      .toThrow(/state/);
    expect(() => decodeMessage('mesos.v1.TaskStatus', Buffer.from('{"task_id":{"value":"t"},"state":"TASK_RUNNING","uuid":"!!!"}'), 'json'))
      .toThrow(MesosCodecError);
  });

  it('refuses to encode typos, unknown enum names, wrong types and missing required fields', () => {
    const bad = (value: object) => () => encodeMessage('mesos.v1.scheduler.Call', value, 'protobuf');
    expect(bad({ type: 'DECLINE', decline: { offerIds: [] } })).toThrow(/decline.offerIds: no such field in mesos.v1.scheduler.Call.Decline/);
    expect(bad({ type: 'SUBSCRIBED' })).toThrow(/type: "SUBSCRIBED" is not a mesos.v1.scheduler.Call.Type value/);
    expect(bad({ type: 'DECLINE', decline: { filters: { refuse_seconds: '5' } } })).toThrow(/refuse_seconds.*not a valid double/);
    expect(bad({ type: 'SUBSCRIBE', subscribe: { framework_info: { user: 'x' } } })).toThrow(/name/);
    expect(bad({ type: 'DECLINE', decline: { offer_ids: { value: 'o' } } })).toThrow(/expected an array/);
  });

  it('maps content types to wire formats', () => {
    expect(formatFromContentType('application/x-protobuf')).toBe('protobuf');
    expect(formatFromContentType('application/json; charset=utf-8')).toBe('json');
    expect(formatFromContentType('text/plain')).toBeUndefined();
    expect(formatFromContentType(undefined)).toBeUndefined();
  });
});
