// How `covenant drift` calls the gateway: the version header, what it keeps of an answer, and which key's secret it uses.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { callItem, keySecret, modelVersionHeader } from '../src/cli/drift-calls.js';
import { parseConfigText } from '../src/config/load.js';

describe('drift calls', () => {
  it('asks for a registry version with x-covenant-model-version and keeps the answer, tokens, version, fingerprint and cost', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((request, response) => {
      seen.push(request.headers);
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json', 'x-covenant-cost-usd': '0.000123' });
        response.end(JSON.stringify({
          id: 'chatcmpl-1', object: 'chat.completion', model: 'gpt-4o-mini-2024-07-18', system_fingerprint: 'fp_1',
          choices: [{ index: 0, message: { role: 'assistant', content: 'I\'m sorry, but I can\'t help with that.', refusal: null }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 },
        }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const item = { id: 'a', messages: [{ role: 'user' as const, content: 'hi' }] };
      const sample = await callItem({ url, secret: 'sk-bot', alias: 'support', version: '2024-07-18' }, item);
      expect(modelVersionHeader).toBe('x-covenant-model-version');
      expect(seen[0]![modelVersionHeader]).toBe('2024-07-18');
      expect(seen[0]!.authorization).toBe('Bearer sk-bot');
      expect(sample).toMatchObject({
        output: 'I\'m sorry, but I can\'t help with that.', output_tokens: 9, input_tokens: 12, model: 'gpt-4o-mini-2024-07-18',
        system_fingerprint: 'fp_1', refused: true, cost_usd_micros: 123,
      });
      await callItem({ url, secret: 'sk-bot', alias: 'support', version: undefined }, item);
      expect(seen[1]![modelVersionHeader]).toBeUndefined();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('finds the key\'s secret through its key_env, by name or department/name', () => {
    const config = parseConfigText(`
org:
  name: acme
  departments:
    - { name: quality, keys: [ { name: bot, key_env: QUALITY_BOT }, { name: solo, key_env: SOLO } ] }
    - { name: claims, keys: [ { name: bot, key_env: CLAIMS_BOT } ] }
`, 'covenant.yaml');
    const environment = { QUALITY_BOT: 'sk-q', CLAIMS_BOT: 'sk-c', OTHER: 'sk-o' };
    expect(keySecret({ key: 'claims/bot' }, config, environment)).toEqual({ name: 'claims/bot', department: 'claims', secret: 'sk-c' });
    expect(() => keySecret({ key: 'bot' }, config, environment)).toThrow(/several departments \(quality, claims\)/);
    expect(() => keySecret({ key: 'solo' }, config, environment)).toThrow(/set SOLO: it holds the secret of key quality\/solo/);
    expect(() => keySecret({ key: 'ghost' }, config, environment)).toThrow(/no key "ghost"/);
    expect(keySecret({ keyEnv: 'OTHER' }, undefined, environment)).toEqual({ name: 'OTHER', department: null, secret: 'sk-o' });
  });
});
