import { describe, expect, it } from '@jest/globals';
import { bearerMatches, isLoopback, metricsAccess } from './metrics-access.js';

const TOKEN = 'a-metrics-token-of-some-length';

describe('metricsAccess', () => {
  it('with a token, lets in exactly the requests that carry it, from anywhere', () => {
    const ask = (authorization: string | undefined, clientIp = '203.0.113.9') =>
      metricsAccess({ token: TOKEN, authorization, clientIp, loopbackWithoutToken: true });
    expect(ask(`Bearer ${TOKEN}`)).toEqual({ ok: true });
    expect(ask(`bearer ${TOKEN}`)).toEqual({ ok: true });
    expect(ask(`Bearer ${TOKEN}x`)).toMatchObject({ ok: false, status: 401 });
    expect(ask(`Basic ${TOKEN}`)).toMatchObject({ ok: false, status: 401 });
    expect(ask(undefined, '127.0.0.1')).toMatchObject({
      ok: false,
      status: 401,
      message: expect.stringMatching(/Nothing was read/),
    });
  });

  it('without a token, the console answers loopback only and the health ports answer everyone', () => {
    const consoleAsk = (clientIp: string | undefined) =>
      metricsAccess({ token: undefined, authorization: undefined, clientIp, loopbackWithoutToken: true });
    expect(consoleAsk('127.0.0.1')).toEqual({ ok: true });
    expect(consoleAsk('::ffff:127.0.0.1')).toEqual({ ok: true });
    expect(consoleAsk('::1')).toEqual({ ok: true });
    expect(consoleAsk('10.0.0.8')).toMatchObject({
      ok: false,
      status: 403,
      message: expect.stringMatching(/METRICS_TOKEN/),
    });
    expect(consoleAsk(undefined)).toMatchObject({ ok: false, status: 403 });
    expect(
      metricsAccess({ token: undefined, authorization: undefined, clientIp: '10.0.0.8', loopbackWithoutToken: false }),
    ).toEqual({ ok: true });
  });
});

describe('helpers', () => {
  it('bearerMatches needs the whole token and the Bearer scheme', () => {
    expect(bearerMatches(`Bearer   ${TOKEN} `, TOKEN)).toBe(true);
    expect(bearerMatches(`Bearer ${TOKEN.slice(1)}`, TOKEN)).toBe(false);
    expect(bearerMatches('', TOKEN)).toBe(false);
  });

  it('isLoopback knows IPv4, IPv6 and mapped loopback addresses, and nothing else', () => {
    expect(isLoopback('127.0.0.5')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopback('128.0.0.1')).toBe(false);
    expect(isLoopback('::ffff:10.1.2.3')).toBe(false);
    expect(isLoopback('127.0.0.1.evil')).toBe(false);
  });
});
