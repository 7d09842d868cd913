// The benchmark's baseline: the least a Node pass-through proxy can do (node:http in, undici Pool out) — the practical ceiling.
// `node bench/minimal-proxy.mjs --upstream http://127.0.0.1:PORT [--port N]`; prints `minimal proxy listening on URL`.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({ options: { upstream: { type: 'string' }, port: { type: 'string', default: '0' } } });
if (!values.upstream) {
  process.stderr.write('minimal-proxy: --upstream URL is required\n');
  process.exit(2);
}
// Same pool settings as Covenant's upstream agent (src/providers/http.ts), so the comparison is like for like.
const pool = new Pool(values.upstream, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });
// Hop-by-hop headers (RFC 9110 section 7.6.1) are not forwarded; undici sets its own framing.
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'upgrade', 'te', 'trailer', 'proxy-connection']);

function forwardable(headers) {
  const result = {};
  for (const [name, value] of Object.entries(headers)) if (!hopByHop.has(name)) result[name] = value;
  return result;
}

const server = createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', async () => {
    try {
      const upstream = await pool.request({
        path: request.url, method: request.method, headers: forwardable(request.headers), body: Buffer.concat(chunks),
      });
      response.writeHead(upstream.statusCode, forwardable(upstream.headers));
      upstream.body.pipe(response);
    } catch (error) {
      response.writeHead(502, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: error.message, type: 'upstream_error', param: null, code: 'upstream_error' } }));
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(values.port), '127.0.0.1', () => {
  process.stdout.write(`minimal proxy listening on http://127.0.0.1:${server.address().port}\n`);
});
const stop = () => server.close(() => pool.close().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
