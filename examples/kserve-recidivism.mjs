// A toy scoring model speaking KServe v1, for trying `covenant explain` on the COMPAS data: node examples/kserve-recidivism.mjs
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

/** The model's input order. */
export const features = ['age', 'priors_count', 'juv_fel_count', 'juv_misd_count'];

/** A fixed logistic model of two-year recidivism (illustrative weights, not fitted): the probability for one row. */
export function recidivismScore([age, priors, juvenileFelonies, juvenileMisdemeanours]) {
  const logit = -0.4 - 0.045 * (age - 35) + 0.16 * priors + 0.3 * juvenileFelonies + 0.2 * juvenileMisdemeanours;
  return 1 / (1 + Math.exp(-logit));
}

/** POST /v1/models/recidivism:predict {"instances": [[age, priors_count, juv_fel_count, juv_misd_count], …]}. */
export function startModel(port = 8080, host = '127.0.0.1') {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      response.setHeader('content-type', 'application/json');
      if (request.method !== 'POST' || request.url !== '/v1/models/recidivism:predict') {
        response.statusCode = 404;
        response.end(JSON.stringify({ error: 'POST /v1/models/recidivism:predict' }));
        return;
      }
      try {
        const { instances } = JSON.parse(body);
        response.end(JSON.stringify({ predictions: instances.map(recidivismScore) }));
      } catch (error) {
        response.statusCode = 400;
        response.end(JSON.stringify({ error: String(error) }));
      }
    });
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await startModel(Number(process.env.PORT ?? 8080));
  const { address, port } = server.address();
  console.log(`model listening on http://${address}:${port}/v1/models/recidivism:predict`);
}
