// The built-in demo setup used when no config file is given: mock provider, one organisation, one printed demo key.
export const demoUserKey = 'sk-covenant-demo';
export const demoAdminKey = 'sk-covenant-admin-demo';

/** Demo config as YAML text, so it goes through exactly the same validation as a user's file. */
export const demoConfigText = `# Covenant demo: the built-in mock provider, no real upstream, nothing leaves this machine.
server: { host: 127.0.0.1, port: 4141 }
store: sqlite:.covenant/covenant.db
admin_keys:
  - { name: demo-admin, key_env: COVENANT_DEMO_ADMIN_KEY }
providers:
  - { name: mock, type: mock }
models:
  - alias: demo
    provider: mock
    version: mock-gpt-1
    price: { input_per_mtok: 0.15, output_per_mtok: 0.60 }
  - alias: demo-embed
    provider: mock
    version: mock-embed-1
    type: embedding
    price: { input_per_mtok: 0.02, output_per_mtok: 0 }
org:
  name: demo
  budgets: [ { usd: 100, period: month } ]
  departments:
    - name: demo
      budgets: [ { usd: 10, period: day } ]
      keys:
        - { name: demo-key, key_env: COVENANT_DEMO_KEY }
`;

/** The environment the demo's key_env names point at. */
export const demoEnvironment: Record<string, string> = {
  COVENANT_DEMO_ADMIN_KEY: demoAdminKey,
  COVENANT_DEMO_KEY: demoUserKey,
};
