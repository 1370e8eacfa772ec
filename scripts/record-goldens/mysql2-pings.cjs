// Records a mysql2 session that starts with pings, for the mid-connection detection golden:
// usage: node mysql2-pings.cjs PORT
const mysql = require('mysql2/promise');

async function main() {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: Number(process.argv[2]), user: 'weft', password: 'weftpw', database: 'shop' });
  for (let i = 0; i < 6; i++) await c.ping();
  for (let i = 0; i < 4; i++) {
    await c.query('SELECT id, name FROM items ORDER BY id');
    await c.query(`INSERT INTO items VALUES (${100 + i}, 'n${i}')`);
    await c.query(`UPDATE items SET name = 'm${i}' WHERE id = ${100 + i}`);
  }
  await c.query('DELETE FROM items WHERE id >= 100');
  await c.end();
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
