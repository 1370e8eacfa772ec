// The demo's frontend, instrumented with the SkyWalking Node agent (skywalking-backend-js):
// GET /checkout calls the backend's /order. Segments go over gRPC to COLLECTOR (host:port).
'use strict';
process.env.SW_AGENT_COLLECTOR_BACKEND_SERVICES = process.env.COLLECTOR;
if (process.env.COLLECTOR_TOKEN) process.env.SW_AGENT_AUTHENTICATION = process.env.COLLECTOR_TOKEN;
const sw = require('skywalking-backend-js').default;
sw.start({ serviceName: process.env.SERVICE_NAME || 'demo-frontend', maxBufferSize: 1000 });
const http = require('http'); // the agent hooks the bare module name

const { startFrontend } = require('./frontend-server.cjs');

const server = startFrontend(http, { port: process.env.PORT, backendUrl: process.env.BACKEND_URL });
const stop = () => {
  server.close();
  setTimeout(() => process.exit(0), 1500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
