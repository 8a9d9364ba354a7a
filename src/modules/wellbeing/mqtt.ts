// MQTT ingestion. Without MQTT_URL Kiln runs its own broker (aedes) and authenticates each hub
// with its key; with MQTT_URL Kiln subscribes to that broker, which it does not administer, and
// checks each reading's signature instead (docs/decisions/wellbeing-device-authentication.md).
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { Aedes, type Client as AedesClient } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { sha256, TOPIC, type Device, type DeviceDirectory, type Ingestor } from './ingest.ts';

export const SUBSCRIPTION = 'kiln/homes/+/sensors/+/events';

export interface BrokerStatus {
  mode: 'in-process' | 'external';
  url: string;
  connected: boolean;
  clients: number;
  connectionsRefused: number;
  reconnects: number;
  disconnectedForTopic: number;
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
  const status: BrokerStatus = {
    mode: 'in-process',
    url: '',
    connected: true,
    clients: 0,
    connectionsRefused: 0,
    reconnects: 0,
    disconnectedForTopic: 0,
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
    ingestor
      .room()
      .then(() => ingestor.accept(packet.topic, packet.payload as Buffer, hub))
      .then(
        () => done(null),
        (error: Error) => done(error),
      );
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
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Subscribes to a broker Kiln does not run; each reading must be signed by a hub of its home. */
export async function subscribeExternal(
  url: string,
  ingestor: Ingestor,
  options: { clientId: string; shareGroup?: string },
): Promise<MqttIngestion> {
  const status: BrokerStatus = {
    mode: 'external',
    url: url.replace(/\/\/[^@/]*@/, '//'),
    connected: false,
    clients: 0,
    connectionsRefused: 0,
    reconnects: 0,
    disconnectedForTopic: 0,
  };
  const client: MqttClient = mqtt.connect(url, {
    clientId: options.clientId,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
  });
  // The acknowledgement of each QoS 1 message waits until the reading is checked and buffered,
  // and while the buffer is full: the broker then holds the rest.
  client.handleMessage = (packet, callback) => {
    ingestor
      .room()
      .then(() => ingestor.accept(packet.topic, packet.payload as Buffer))
      .then(
        () => callback(),
        (error: Error) => callback(error),
      );
  };
  const topic = options.shareGroup ? `$share/${options.shareGroup}/${SUBSCRIPTION}` : SUBSCRIPTION;
  client.on('connect', () => {
    status.connected = true;
    client.subscribe(topic, { qos: 1 });
  });
  client.on('reconnect', () => status.reconnects++);
  client.on('close', () => (status.connected = false));
  client.on('error', () => {});
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 5000);
    client.once('connect', () => {
      client.subscribe(topic, { qos: 1 }, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  });
  return {
    port: null,
    status: () => ({ ...status }),
    async close() {
      await client.endAsync();
    },
  };
}
