// The benchmark's Node peer: livebridge's set_light job done the way a Node developer would,
// with Google's official SDK (@google/genai, ai.live.connect) and mqtt.js. It declares the same
// function, publishes the same zigbee2mqtt command at QoS 0, waits for the state that matches,
// and answers with session.sendToolResponse. Started by livebridge-compare (tests/bench), which
// plays the model on a fake Live server and reads this process's CPU and memory from /proc.
//
// usage: node bridge.mjs --base-url http://127.0.0.1:PORT --broker mqtt://127.0.0.1:PORT
//                        --model models/ID --rooms bench,dev00,...   (API key in GEMINI_API_KEY)
import { readFileSync } from 'node:fs';
import { GoogleGenAI, Modality } from '@google/genai';
import mqtt from 'mqtt';

const ackTimeoutMs = 5000; // as the livebridge config's ack.timeout

function options(argv) {
  const out = {};
  for (let i = 2; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const need of ['base-url', 'broker', 'model', 'rooms']) {
    if (!out[need]) throw new Error(`--${need} is required`);
  }
  return out;
}

function versionOf(pkg) {
  const url = new URL(`./node_modules/${pkg}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')).version;
}

const opt = options(process.argv);
const rooms = opt.rooms.split(',');
const states = ['ON', 'OFF'];

// The same declaration livebridge builds from its YAML tool.
const setLight = {
  name: 'set_light',
  parameters: {
    type: 'OBJECT',
    properties: {
      room: { type: 'STRING', enum: rooms },
      state: { type: 'STRING', enum: states },
    },
    required: ['room', 'state'],
  },
};

// Calls waiting for their device, by state topic.
const waiting = new Map();

function waitForState(topic, wanted) {
  return new Promise((resolve) => {
    const entry = {
      wanted,
      resolve,
      timer: setTimeout(() => {
        remove(topic, entry);
        resolve(null);
      }, ackTimeoutMs),
    };
    if (!waiting.has(topic)) waiting.set(topic, []);
    waiting.get(topic).push(entry);
  });
}

function remove(topic, entry) {
  const list = waiting.get(topic);
  if (!list) return;
  const i = list.indexOf(entry);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) waiting.delete(topic);
}

const broker = mqtt.connect(opt.broker, {
  clientId: 'bench-node',
  protocolVersion: 5,
  clean: true,
  reconnectPeriod: 0,
});
await new Promise((resolve, reject) => {
  broker.once('connect', resolve);
  broker.once('error', reject);
});
broker.stream.setNoDelay(true); // as livebridge does on its MQTT socket
// The ack topic zigbee2mqtt/{{room}} with its placeholder as '+', as livebridge subscribes it.
await broker.subscribeAsync('zigbee2mqtt/+', { qos: 1, nl: true });

broker.on('message', (topic, payload) => {
  const list = waiting.get(topic);
  if (!list) return; // not a state anyone waits for
  let state;
  try {
    state = JSON.parse(payload.toString('utf8'));
  } catch {
    return;
  }
  if (state === null || typeof state !== 'object') return;
  for (const entry of [...list]) {
    if (state.state !== entry.wanted) continue;
    clearTimeout(entry.timer);
    remove(topic, entry);
    entry.resolve(state);
  }
});

let session;

async function carryOut(call) {
  const args = call.args ?? {};
  if (call.name !== 'set_light' || !rooms.includes(args.room) || !states.includes(args.state)) {
    return { id: call.id, name: call.name, response: { error: 'invalid call' } };
  }
  const topic = `zigbee2mqtt/${args.room}`;
  const acknowledged = waitForState(topic, args.state);
  broker.publish(`${topic}/set`, JSON.stringify({ state: args.state }), { qos: 0 });
  const state = await acknowledged;
  if (state === null) {
    return { id: call.id, name: call.name, response: { error: `no state ${args.state} on ${topic}` } };
  }
  return { id: call.id, name: call.name, response: { output: { topic, state } } };
}

function onToolCall(toolCall) {
  for (const call of toolCall.functionCalls ?? []) {
    carryOut(call).then((answer) => session.sendToolResponse({ functionResponses: [answer] }));
  }
}

const ai = new GoogleGenAI({
  apiKey: process.env.GEMINI_API_KEY,
  httpOptions: { baseUrl: opt['base-url'], apiVersion: 'v1beta' },
});
session = await ai.live.connect({
  model: opt.model,
  config: { responseModalities: [Modality.TEXT], tools: [{ functionDeclarations: [setLight] }] },
  callbacks: {
    onmessage: (message) => {
      if (message.toolCall) onToolCall(message.toolCall);
    },
    onerror: (e) => {
      console.error(`node-bridge: socket error: ${e.message ?? e}`);
      process.exit(1);
    },
    onclose: (e) => {
      console.error(`node-bridge: session closed: ${e.code} ${e.reason}`);
      process.exit(1);
    },
  },
});

console.log(
  `node-bridge: ready (node ${process.versions.node}, @google/genai ${versionOf('@google/genai')}, ` +
    `mqtt ${versionOf('mqtt')})`,
);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
