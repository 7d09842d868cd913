// Benchmark only: Covenant with every stage but the evidence ledger, so the load benchmark can show the ledger's cost.
import { startApp } from '../dist/gateway/app.js';

const configFile = process.argv[2];
const app = await startApp({ configFile, host: '127.0.0.1', port: 0, withoutLedgerStage: true });
process.stdout.write(`covenant listening on ${app.url}\n`);
const stop = () => app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
