// MQTT ingestion. Without MQTT_URL Kiln runs its own broker (aedes) and authenticates each hub
// with its key; with MQTT_URL Kiln subscribes to that broker, which it does not administer, and
// checks each reading's signature instead (docs/decisions/wellbeing-device-authentication.md).
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type Client as AedesClient } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import {
  sha256,
  TOPIC,
  type AcceptResult,
  type Device,
  type DeviceDirectory,
  type Ingestor,
} from './ingest.ts';

export const SUBSCRIPTION = 'kiln/homes/+/sensors/+/events';

/**
 * Holds a connection's writes until the event loop has handled everything that arrived with this
 * packet, so the acknowledgements of a burst of readings leave in one write, not one system call
 * each (mqtt-packet otherwise flushes after every packet).
 */
function corkUntilIdle(conn: { cork(): void; uncork(): void } | undefined, corked: WeakSet<object>) {
  if (!conn || corked.has(conn)) return;
  corked.add(conn);
  conn.cork();
  setImmediate(() => {
    corked.delete(conn);
    conn.uncork();
  });
}

/** Acknowledges once the reading is checked and buffered; at once when the check needs no I/O. */
function acceptThen(
  ingestor: Ingestor,
  topic: string,
  payload: Buffer | string,
  publisher: Device | undefined,
  done: (error?: Error) => void,
  onError: (error: Error) => void,
) {
  let checked: AcceptResult | Promise<AcceptResult>;
  try {
    checked = ingestor.full
      ? ingestor.room().then(() => ingestor.acceptNow(topic, payload, publisher))
      : ingestor.acceptNow(topic, payload, publisher);
  } catch (error) {
    return onError(error as Error);
  }
  if (checked instanceof Promise) checked.then(() => done(), onError);
  else done();
}

export interface BrokerStatus {
  mode: 'in-process' | 'external';
  url: string;
  connected: boolean;
  clients: number;
  connectionsRefused: number;
  reconnects: number;
  disconnectedForTopic: number;
  /** Messages the external broker says it dropped (Mosquitto's $SYS counter, all clients); null if unknown. */
  brokerDropped: number | null;
}

export interface MqttIngestion {
  status(): BrokerStatus;
  /** The port of the in-process broker (for tests and the simulator). */
  port: number | null;
  close(): Promise<void>;
}

/** Kiln's own broker: hubs connect with their reference as user name and their key as password. */
export async function startBroker(
  port: number,
  host: string,
  directory: DeviceDirectory,
  ingestor: Ingestor,
): Promise<MqttIngestion> {
  const broker = await Aedes.createBroker({ concurrency: 1000 });
  const hubs = new WeakMap<AedesClient, Device>();
  const corked = new WeakSet<object>();
  let closing = false;
  const status: BrokerStatus = {
    mode: 'in-process',
    url: '',
    connected: true,
    clients: 0,
    connectionsRefused: 0,
    reconnects: 0,
    disconnectedForTopic: 0,
    brokerDropped: null,
  };
  broker.authenticate = (client, username, password, done) => {
    const refuse = () => {
      status.connectionsRefused++;
      const error = Object.assign(new Error('Bad user name or password'), { returnCode: 4 });
      done(error as never, false);
    };
    if (!username || !password) return refuse();
    directory.get(username).then((device) => {
      if (!device || device.role !== 'hub' || !device.keyHash || !device.homeActive) return refuse();
      const given = Buffer.from(sha256(password.toString()), 'hex');
      if (!timingSafeEqual(given, Buffer.from(device.keyHash, 'hex'))) return refuse();
      hubs.set(client, device);
      done(null, true);
    }, refuse);
  };
  broker.authorizePublish = (client, packet, done) => {
    const hub = client ? hubs.get(client) : undefined;
    const match = TOPIC.exec(packet.topic);
    if (!hub || !match || match[1] !== hub.homeRef) {
      // Publishing to another home's topic (or to no sensor's) ends the hub's connection.
      status.disconnectedForTopic++;
      ingestor.metrics.received++;
      ingestor.metrics.rejected.wrong_home++;
      return done(new Error('Not authorised for this topic'));
    }
    corkUntilIdle((client as unknown as { conn?: Socket }).conn, corked);
    // If a reading cannot be checked (the device registry unreadable while the database is away),
    // it is tried again and the hub waits for its acknowledgement, rather than being disconnected.
    const attempt = (): void =>
      acceptThen(
        ingestor,
        packet.topic,
        packet.payload as Buffer,
        hub,
        () => done(null),
        (error) => {
          if (closing) return done(error);
          setTimeout(attempt, 1000);
        },
      );
    attempt();
  };
  // Hubs only publish; nothing may subscribe to residents' readings through Kiln's broker.
  broker.authorizeSubscribe = (_client, _sub, done) => done(new Error('Subscriptions are not allowed'), null);
  broker.on('client', () => status.clients++);
  broker.on('clientDisconnect', () => status.clients--);
  const server: Server = createServer(broker.handle as never);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch (error) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw error;
  }
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  status.url = `mqtt://${host}:${actual}`;
  return {
    port: actual,
    status: () => ({ ...status }),
    async close() {
      closing = true;
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Mosquitto's count of messages it dropped because a subscriber's queue was full (broker-wide). */
export const DROPPED_TOPIC = '$SYS/broker/publish/messages/dropped';

export interface ExternalOptions {
  clientId: string;
  shareGroup?: string;
  /** Keep the session (and the broker's queue for it) while Kiln is away; needs a fixed client id. */
  persistent?: boolean;
  /** MQTT 5 receive maximum: readings the broker may send before acknowledgements come back. */
  receiveMaximum?: number;
}

/** How long the broker keeps a persistent session while Kiln is away (two days, as in kiln.conf). */
const SESSION_EXPIRY_SECONDS = 2 * 86_400;

/** Subscribes to a broker Kiln does not run; each reading must be signed by a hub of its home. */
export async function subscribeExternal(
  url: string,
  ingestor: Ingestor,
  options: ExternalOptions,
): Promise<MqttIngestion> {
  const status: BrokerStatus = {
    mode: 'external',
    url: url.replace(/\/\/[^@/]*@/, '//'),
    connected: false,
    clients: 0,
    connectionsRefused: 0,
    reconnects: 0,
    disconnectedForTopic: 0,
    brokerDropped: null,
  };
  // MQTT 5, so Kiln sets how many readings may be in flight to it (Mosquitto's default for 3.1.1
  // clients is 20); a persistent session keeps Kiln's queue on the broker across restarts.
  const client: MqttClient = mqtt.connect(url, {
    clientId: options.clientId,
    protocolVersion: 5,
    clean: !options.persistent,
    properties: {
      receiveMaximum: options.receiveMaximum ?? 1000,
      sessionExpiryInterval: options.persistent ? SESSION_EXPIRY_SECONDS : 0,
    },
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
  });
  // The acknowledgement of each QoS 1 message waits until the reading is checked and buffered,
  // and while the buffer is full: the broker then holds the rest. If checking fails (the device
  // registry cannot be read while the database is away) it is tried again, never acknowledged
  // unchecked nor dropped. mqtt.js hands over one message at a time, in order.
  let closing = false;
  const corked = new WeakSet<object>();
  const handle = (packet: { topic: string; payload: Buffer | string }, callback: (error?: Error) => void) => {
    if (packet.topic === DROPPED_TOPIC) {
      status.brokerDropped = Number(packet.payload.toString());
      return callback();
    }
    corkUntilIdle(client.stream as unknown as Socket, corked);
    const attempt = (): void =>
      acceptThen(ingestor, packet.topic, packet.payload, undefined, callback, () => {
        if (closing) return callback(new Error('closing'));
        setTimeout(attempt, 1000);
      });
    attempt();
  };
  client.handleMessage = handle as MqttClient['handleMessage'];
  const topic = options.shareGroup ? `$share/${options.shareGroup}/${SUBSCRIPTION}` : SUBSCRIPTION;
  const subscribe = () =>
    new Promise<void>((resolve) => {
      client.subscribe(topic, { qos: 1 }, () => resolve());
      // Where the broker publishes it (Mosquitto): its count of dropped messages, for the operator.
      client.subscribe(DROPPED_TOPIC, { qos: 0 }, () => {});
    });
  client.on('connect', () => {
    status.connected = true;
    void subscribe();
  });
  client.on('reconnect', () => status.reconnects++);
  client.on('close', () => (status.connected = false));
  client.on('error', () => {});
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 5000);
    client.once('connect', () => {
      void subscribe().then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  });
  return {
    port: null,
    status: () => ({ ...status }),
    async close() {
      closing = true;
      await client.endAsync();
    },
  };
}
