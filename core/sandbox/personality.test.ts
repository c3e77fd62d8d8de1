// Selecting the sandbox LLM's personality: per request by model name or header, per server by the in-process
// API or the HTTP control endpoint (for out-of-process runs), with a count that reverts to 'strict'.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startSandbox, type Sandbox } from './index.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

const TOOL = {
  type: 'function',
  function: { name: 'answer', parameters: { type: 'object', properties: { n: { type: 'integer', maximum: 20 } } } },
};

async function chat(model: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${sandbox.openaiUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', ...headers },
    body: JSON.stringify({
      model,
      messages: [{ role: 'user', content: 'Idea: dog sitters' }],
      tools: [TOOL],
      tool_choice: { type: 'function', function: { name: 'answer' } },
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const toolArgs = (body: Record<string, unknown>): unknown =>
  JSON.parse(
    (body as { choices: { message: { tool_calls: { function: { arguments: string } }[] } }[] }).choices[0]!.message
      .tool_calls[0]!.function.arguments,
  );

describe('sandbox LLM personality', () => {
  it('is strict by default and chosen per request by model name (with an optional tag) or header', async () => {
    expect(toolArgs((await chat('gpt-4o-mini')).body)).toEqual({ n: expect.any(Number) });
    expect((await chat('sandbox:rejects-tools:abc')).status).toBe(400);
    expect((await chat('gpt-4o-mini', { 'x-sandbox-personality': 'out-of-range' })).body).toMatchObject({
      choices: [{ message: { tool_calls: [{ function: { arguments: '{"n":25}' } }] } }],
    });
    // An unknown name is ignored rather than guessed.
    expect((await chat('sandbox:nonsense')).status).toBe(200);
  });

  it('is set over HTTP for the next N requests, then reverts to strict', async () => {
    const set = await fetch(`${sandbox.tavilyUrl}/_sandbox/personality`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ personality: 'no-usage', times: 1 }),
    });
    expect(set.status).toBe(200);
    expect((await chat('m')).body).not.toHaveProperty('usage');
    expect((await chat('m')).body).toHaveProperty('usage');
    const bad = await fetch(`${sandbox.tavilyUrl}/_sandbox/personality`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ personality: 'charming' }),
    });
    expect(bad.status).toBe(400);
  });

  it('answers with OpenAI’s documented error bodies', async () => {
    sandbox.setPersonality('quota-exhausted');
    const quota = await chat('m');
    sandbox.setPersonality('strict');
    expect(quota).toMatchObject({
      status: 429,
      body: { error: { code: 'insufficient_quota', type: 'insufficient_quota' } },
    });
    expect(await chat('sandbox:unknown-model')).toMatchObject({
      status: 404,
      body: {
        error: {
          code: 'model_not_found',
          message: 'The model `sandbox:unknown-model` does not exist or you do not have access to it.',
        },
      },
    });
  });
});
