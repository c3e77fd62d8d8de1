import { describe, expect, it } from '@jest/globals';
import { healthPort } from './ports.js';

describe('healthPort', () => {
  it('is off when HEALTH_PORT is 0, whatever the instance', () => {
    expect(healthPort(0, undefined)).toBe(0);
    expect(healthPort(0, '3')).toBe(0);
  });

  it('adds PM2 instance numbers to the base so the workers of one app never share a port', () => {
    expect(healthPort(9465, undefined)).toBe(9465);
    expect(healthPort(9465, '')).toBe(9465);
    expect(healthPort(9465, '0')).toBe(9465);
    expect(healthPort(9465, '2')).toBe(9467);
  });

  it('refuses an instance that is not a whole number, or a port past 65535', () => {
    expect(() => healthPort(9465, 'x')).toThrow(/NODE_APP_INSTANCE/);
    expect(() => healthPort(9465, '-1')).toThrow(/NODE_APP_INSTANCE/);
    expect(() => healthPort(65535, '1')).toThrow(/65535/);
  });
});
