import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkActionReply, checkOrigin, formActionPrefix, guardSettings, ownOrigins, type ActionParts } from '../../../web/lib/request-guard.js';

const post = (headers: Record<string, string>, env: Record<string, string> = { PORT: '3000' }) =>
  checkOrigin('POST', new Headers(headers), guardSettings(env, ['test']));

describe('request guard: origin', () => {
  it("compares the Origin with the console's own origin (scheme, host and port), never with the Host header", () => {
    assert.equal(post({ origin: 'http://127.0.0.1:3000', host: '127.0.0.1:3000' }), null);
    assert.equal(post({ origin: 'http://localhost:3000', host: 'localhost:3000' }), null, 'the loopback names of the same port');
    assert.match(
      post({ origin: 'http://localhost:3000', host: '127.0.0.1:3000' })?.message ?? '',
      /comes from http:\/\/localhost:3000 but was sent to 127\.0\.0\.1:3000/,
      'an Origin that is not the host it was sent to (Next.js would answer 500)',
    );
    const spoofedHost = post({ origin: 'http://evil.example:3000', host: 'evil.example:3000' });
    assert.equal(spoofedHost?.status, 403);
    assert.match(spoofedHost?.message ?? '', /a request from http:\/\/evil\.example:3000 is not from this console \(http:\/\/127\.0\.0\.1:3000\)/);
    assert.equal(post({ origin: 'https://127.0.0.1:3000', host: '127.0.0.1:3000' })?.status, 403, 'another scheme is another origin');
    assert.equal(post({ origin: 'http://127.0.0.1:3001', host: '127.0.0.1:3000' })?.status, 403, 'another port is another origin');
    assert.equal(post({ origin: 'null' })?.status, 403, 'an opaque origin (a sandboxed frame, a file) is not the console');
    assert.equal(post({}), null, 'no Origin: not a browser (the session or token check decides)');
    assert.equal(checkOrigin('GET', new Headers({ origin: 'http://evil.example' }), guardSettings({}, [])), null);
  });

  it('uses SWITCHYARD_CONSOLE_URL when set, and the forwarded scheme and host only behind a trusted proxy', () => {
    const env = { PORT: '3000', SWITCHYARD_CONSOLE_URL: 'https://console.example.com/' };
    assert.equal(post({ origin: 'https://console.example.com', host: 'console.example.com' }, env), null);
    assert.equal(post({ origin: 'http://console.example.com' }, env)?.status, 403);
    assert.equal(post({ origin: 'http://127.0.0.1:3000', host: '127.0.0.1:3000' }, env)?.status, 403, 'with a configured URL, only that');
    const loopback = { PORT: '3000', SWITCHYARD_CONSOLE_URL: 'http://127.0.0.1:3000' };
    assert.equal(post({ origin: 'http://localhost:3000', host: 'localhost:3000' }, loopback), null, 'a loopback console under its other names');
    assert.equal(post({ origin: 'http://localhost:3001', host: 'localhost:3001' }, loopback)?.status, 403);
    const proxied = { SWITCHYARD_TRUSTED_PROXY: '1' };
    assert.deepEqual(ownOrigins(new Headers({ 'x-forwarded-host': 'console.internal', 'x-forwarded-proto': 'https' }), guardSettings(proxied, [])), [
      'https://console.internal',
    ]);
    assert.equal(post({ origin: 'http://evil.example', 'x-forwarded-host': 'evil.example' })?.status, 403, 'a forwarded host without a trusted proxy');
    const allowed = { PORT: '3000', SWITCHYARD_ALLOWED_ORIGINS: 'https://ops.example.com, admin.example.com:8443' };
    assert.equal(post({ origin: 'https://ops.example.com' }, allowed), null);
    assert.equal(post({ origin: 'https://admin.example.com:8443' }, allowed), null, 'no scheme given: https');
    assert.equal(post({ origin: 'http://ops.example.com' }, allowed)?.status, 403);
  });
});

const parts = (entries: Record<string, string | Blob>): ActionParts => new Map(Object.entries(entries));

describe('request guard: server action bodies', () => {
  it('accepts what the console sends: no arguments, a form, a previous state and a form', () => {
    assert.equal(checkActionReply(parts({ 0: '[]' })), null);
    assert.equal(checkActionReply(parts({ 0: '["$K1"]', '1_username': 'tess' })), null);
    assert.equal(checkActionReply(parts({ 0: '[{"status":"idle","message":"","at":0},"$K1"]', '1_kind': 'pause' })), null);
    assert.equal(checkActionReply(parts({ 0: '["$@1","$K2"]', 1: '{"status":"ok","when":"$D2026-12-06T10:00:00.000Z","n":"$undefined"}' })), null);
  });

  it('refuses references to parts the body does not have, and what no console action takes', () => {
    const refused = (p: ActionParts, why: RegExp): void => {
      const r = checkActionReply(p);
      assert.equal(r?.status, 400, JSON.stringify([...p]));
      assert.match(r?.message ?? '', why);
    };
    refused(parts({ 0: '[{},"$@99"]' }), /'\$@99' refers to part 99 of the body, which it does not have/);
    refused(parts({ 0: '["$1:a:b","$K1"]', 1: '{"a":{}}' }), /refers to a path part 1 of the body does not have/);
    refused(parts({ 0: '["$Q5","$K1"]' }), /refers to part 5/);
    refused(parts({ 0: '["$nabc","$K1"]' }), /is not a big integer/);
    refused(parts({ 0: '["$B3","$K1"]' }), /refers to a file the body does not have/);
    refused(parts({ 0: '["$R3","$K1"]' }), /binary data or a stream/);
    refused(parts({ 0: '["$Z","$K1"]' }), /binary data or a stream/);
    refused(parts({ 0: '{"kind":"pause"}' }), /they are not a list/);
    refused(parts({ 0: '[{}, {}]' }), /the last argument is not a form/);
    refused(parts({ 0: '[1,2,"$K1"]' }), /3 arguments/);
    refused(parts({ '1_kind': 'pause' }), /there is no part 0/);
    refused(parts({ 0: '["$K1",{' }), /could not be read/);
    refused(parts({ 0: '["$K1"]', 2: 'not json' }), /could not be read/);
    assert.equal(checkActionReply(parts({ 0: '["$@1","$K1"]', 1: '"$2:x"', 2: '{"x":1}' })), null, 'references across parts resolve');
    assert.equal(checkActionReply(parts({ 0: '["$B1a","$K1"]', 26: new Blob(['x']) })), null, 'a file part, numbered in hex');
  });

  it('checks a form posted without JavaScript by the parts of its bound action', () => {
    const form = parts({ $ACTION_REF_1: '', '$ACTION_1:0': '{"id":"abc","bound":"$@1"}', '$ACTION_1:1': '[{"status":"idle"}]', username: 'tess' });
    assert.equal(formActionPrefix(form), '$ACTION_1:');
    assert.equal(checkActionReply(form, '$ACTION_1:'), null);
    const broken = parts({ $ACTION_REF_1: '', '$ACTION_1:0': '{"id":"abc","bound":"$@9"}' });
    assert.match(checkActionReply(broken, '$ACTION_1:')?.message ?? '', /refers to part 9/);
    assert.match(checkActionReply(parts({ $ACTION_REF_1: '', '$ACTION_1:0': '[1]' }), '$ACTION_1:')?.message ?? '', /does not name an action/);
    assert.equal(formActionPrefix(parts({ username: 'tess' })), null);
  });
});
