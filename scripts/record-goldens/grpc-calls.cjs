// Records a @grpc/grpc-js session for the HTTP/2 goldens: usage: node grpc-calls.cjs PORT [mid]
// A server on PORT and a client on one connection: a unary call, then 8 unary (two failing
// with NOT_FOUND) and 4 server-streaming calls at once, each with its own traceparent.
// With `mid`, it then pauses 2 s (the recorder starts capturing) and makes 3 more Say calls
// and one call of a method not used before: a capture joining mid-connection.
const grpc = require('@grpc/grpc-js');

const id = (b) => b;
const method = (path, responseStream) => ({ path, requestStream: false, responseStream, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id });
const service = { Say: method('/weft.golden.Echo/Say', false), Count: method('/weft.golden.Echo/Count', true), Late: method('/weft.golden.Echo/Late', false) };
const tp = (i) => `00-${(0x5eed00 + i).toString(16).padStart(32, '0')}-${(0x200 + i).toString(16).padStart(16, '0')}-01`;

async function main() {
  const port = Number(process.argv[2]);
  const server = new grpc.Server();
  server.addService(service, {
    Say: (call, cb) => (call.request.toString().startsWith('fail') ? cb({ code: grpc.status.NOT_FOUND, details: 'no such item' }) : cb(null, Buffer.from('ok'))),
    Late: (call, cb) => cb(null, Buffer.from('late')),
    Count: (call) => {
      for (let i = 0; i < Number(call.request.toString()); i++) call.write(Buffer.from(`item ${i}`));
      call.end();
    },
  });
  await new Promise((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  const Client = grpc.makeGenericClientConstructor(service, 'Echo');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const md = (i) => {
    const m = new grpc.Metadata();
    m.set('traceparent', tp(i));
    return m;
  };
  const say = (i, text) => new Promise((resolve) => client.Say(Buffer.from(text), md(i), () => resolve()));
  const count = (i, n) =>
    new Promise((resolve) => {
      const call = client.Count(Buffer.from(String(n)), md(i));
      call.on('data', () => undefined).on('end', resolve).on('error', resolve);
    });
  await say(0, 'hello');
  await Promise.all([...Array.from({ length: 8 }, (_, i) => say(1 + i, i % 4 === 3 ? 'fail' : `hi ${i}`)), ...Array.from({ length: 4 }, (_, i) => count(20 + i, 2 + i))]);
  if (process.argv[3] === 'mid') {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    for (let i = 0; i < 3; i++) await say(40 + i, `again ${i}`);
    await new Promise((resolve) => client.Late(Buffer.from('x'), md(50), () => resolve()));
  }
  client.close();
  await new Promise((resolve) => server.tryShutdown(resolve));
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
