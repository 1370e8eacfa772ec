// The uninstrumented backend of the demo and the end-to-end tests: a plain Node HTTP service
// that, per request, resolves a name through DNS, then calls Redis, MariaDB and PostgreSQL.
// No tracing code at all: everything Weft shows of it comes from eBPF.
// Config by env: PORT, DNS_PORT, DNS_NAME, REDIS_PORT, MYSQL_PORT, PG_PORT.
import { createServer } from 'node:http';
import { Resolver } from 'node:dns/promises';
import Redis from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`backend: ${k} is required`);
  return v;
};

const resolver = new Resolver({ timeout: 2000, tries: 1 });
resolver.setServers([`127.0.0.1:${env('DNS_PORT')}`]);
const dnsName = env('DNS_NAME');
const redis = new Redis({ host: '127.0.0.1', port: Number(env('REDIS_PORT')), lazyConnect: true, enableAutoPipelining: false, maxRetriesPerRequest: 1 });
const db = mysql.createPool({ host: '127.0.0.1', port: Number(env('MYSQL_PORT')), user: 'root', connectionLimit: 1 });
const pgPool = new pg.Pool({ host: '127.0.0.1', port: Number(env('PG_PORT')), user: 'postgres', database: 'postgres', max: 1 });

async function handle(url) {
  const [address] = await resolver.resolve4(dnsName);
  const item = url.searchParams.get('item') ?? 'book';
  await redis.set(`stock:${item}`, '42');
  const stock = await redis.get(`stock:${item}`);
  const [rows] = await db.query('SELECT ? AS item, 3 AS qty', [item]);
  const price = await pgPool.query('SELECT $1::text AS item, 9.5 AS price', [item]);
  return { address, stock, order: rows[0], price: price.rows[0] };
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://backend');
  if (url.pathname === '/health') {
    res.end('ok');
    return;
  }
  handle(url).then(
    (body) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    },
    (err) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err && err.message));
    },
  );
});
server.keepAliveTimeout = 60_000;
server.listen(Number(env('PORT')), '127.0.0.1');
const stop = () => {
  server.close();
  redis.disconnect();
  void db.end();
  void pgPool.end();
  setTimeout(() => process.exit(0), 200).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
