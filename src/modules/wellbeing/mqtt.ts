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
  /** Why the last connection to the external broker ended (for the operator), or null. */
  lastDisconnect: string | null;
  /** The broker's client id for Kiln's subscription was taken by another connection (two processes with one id). */
  sessionTakenOver: boolean;
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
    lastDisconnect: null,
    sessionTakenOver: false,
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
  /** Told why a connection ended, and when another process took Kiln's session. */
  log?: { warn(message: string): void; error(message: string): void };
  shareGroup?: string;
  /** Keep the session (and the broker's queue for it) while Kiln is away; needs a fixed client id. */
  persistent?: boolean;
  /** MQTT 5 receive maximum: readings the broker may send before acknowledgements come back. */
  receiveMaximum?: number;
  /** How long the broker keeps a persistent session while Kiln is away; default two days. */
  sessionExpirySeconds?: number;
}

/** How long the broker keeps a persistent session while Kiln is away (two days, as in kiln.conf). */
export const SESSION_EXPIRY_SECONDS = 2 * 86_400;
/** MQTT keep-alive; the broker closes a connection silent for one and a half times this. */
const KEEPALIVE_SECONDS = 60;
/** MQTT 5 DISCONNECT reason: another connection with the same client id took the session. */
const SESSION_TAKEN_OVER = 0x8e;
/** A connection ending sooner than this after it began counts towards a suspected client id fight. */
const SHORT_LIVED_MS = 10_000;
const FIGHT_BACKOFF_MS = 60_000;

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
    lastDisconnect: null,
    sessionTakenOver: false,
  };
  const persistent = options.persistent ?? true;
  // MQTT 5, so Kiln sets how many readings may be in flight to it (Mosquitto's default for 3.1.1
  // clients is 20). The session is persistent: while Kiln is away (a restart, a dropped
  // connection) the broker keeps queueing for it, and on reconnecting Kiln resumes that queue
  // (readings in flight but unacknowledged are sent again; duplicates are ignored on storing).
  const client: MqttClient = mqtt.connect(url, {
    clientId: options.clientId,
    protocolVersion: 5,
    clean: !persistent,
    properties: {
      receiveMaximum: options.receiveMaximum ?? 1000,
      sessionExpiryInterval: persistent ? (options.sessionExpirySeconds ?? SESSION_EXPIRY_SECONDS) : 0,
    },
    keepalive: KEEPALIVE_SECONDS,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
  });
  // mqtt.js counts only acknowledgements and PINGRESP as signs of a live broker, not the readings
  // it delivers, and a PINGRESP waits behind every reading already sent to Kiln, which Kiln reads
  // one at a time and holds back while its buffer is full. On a loaded machine the PINGRESP was
  // read more than 30 s after it came and mqtt.js dropped a healthy connection ("Keepalive
  // timeout"). Any packet from the broker shows it is there: restart the keep-alive timer on it
  // (at most once a second, as it costs a timer).
  let lastRescheduled = 0;
  client.on('packetreceive', () => {
    const now = Date.now();
    if (now - lastRescheduled < 1000) return;
    lastRescheduled = now;
    client.reschedulePing(true);
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
  let reported = false;
  let connectedAt = 0;
  let shortLived = 0;
  let stoodDown = false;
  const lost = (why: string) => {
    if (closing || reported) return;
    reported = true;
    status.lastDisconnect = why;
    options.log?.warn(`wellbeing: MQTT subscription ${options.clientId} disconnected: ${why}`);
  };
  const takenOver = (how: string, then: string) => {
    status.sessionTakenOver = true;
    options.log?.error(
      `wellbeing: ${how}: another process is probably connected to the broker as ${options.clientId}; ` +
        `${then}. Give each Kiln process its own WELLBEING_MQTT_CLIENT_ID.`,
    );
  };
  client.on('connect', (connack) => {
    status.connected = true;
    reported = false;
    connectedAt = Date.now();
    // A resumed session still has the subscription; subscribing again is harmless and covers a
    // session the broker has expired.
    if (persistent && !connack.sessionPresent && status.reconnects > 0)
      options.log?.warn(
        `wellbeing: the broker had no session for ${options.clientId}; readings queued while away are gone`,
      );
    void subscribe();
  });
  client.on('disconnect', (packet) => {
    const code = packet.reasonCode ?? 0;
    const reason = packet.properties?.reasonString ? ` (${packet.properties.reasonString})` : '';
    lost(`the broker sent DISCONNECT, reason code 0x${code.toString(16)}${reason}`);
    if (code === SESSION_TAKEN_OVER) {
      // Reconnecting would take the session back and the broker would drop the other process,
      // without end; this one stands down (the other has the same queue, so nothing is lost).
      stoodDown = true;
      client.options.reconnectPeriod = 0;
      takenOver(
        'the broker handed this session to another connection',
        'this process stops ingesting over MQTT',
      );
    }
  });
  client.on('error', (error) => lost(`error: ${error.message}`));
  // mqtt.js closes the connection before it emits the error that explains why (a keep-alive
  // timeout): report a bare close only if no reason follows.
  client.on('offline', () => setImmediate(() => lost('the connection closed')));
  client.on('reconnect', () => status.reconnects++);
  client.on('close', () => {
    if (!status.connected) return;
    status.connected = false;
    // Some brokers (Mosquitto 2.0) drop the older of two connections with one client id without
    // saying why. Connections that keep ending within seconds of starting are that fight (or a
    // failing network): wait longer between attempts, so the other process keeps the session
    // most of the time, and say so. A connection that lasts resets this.
    shortLived = Date.now() - connectedAt < SHORT_LIVED_MS ? shortLived + 1 : 0;
    if (closing || stoodDown || shortLived < 3) {
      if (shortLived === 0) client.options.reconnectPeriod = 1000;
      return;
    }
    client.options.reconnectPeriod = FIGHT_BACKOFF_MS;
    takenOver(
      `${shortLived} connections in a row ended within ${SHORT_LIVED_MS / 1000} s`,
      `waiting ${FIGHT_BACKOFF_MS / 1000} s between attempts`,
    );
  });
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
