// The official OpenAI SDK (the `openai` npm package) against a running mamba2-server: a streamed
// and a whole chat completion, a streamed and a whole completion, and a refused request, each
// checked as the SDK parses it. Usage: node openai_client.mjs BASE_URL API_KEY (BASE_URL ends
// in /v1). Exits 0 when every check holds, 1 with the failures on stderr otherwise.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({baseURL, apiKey, timeout: 60_000, maxRetries: 0});

// Greedy and seeded, so a streamed reply and a whole one are the same text.
const sampling = {temperature: 0, seed: 7, max_tokens: 16};
const messages = [
  {role: 'system', content: 'A story.'},
  {role: 'user', content: 'Once upon a time'},
];

function checkUsage(usage, maxTokens) {
  assert.ok(usage, 'usage is present');
  assert.ok(usage.prompt_tokens > 0, `prompt_tokens ${usage.prompt_tokens}`);
  assert.equal(usage.completion_tokens, maxTokens);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
}

async function chat() {
  const whole = await client.chat.completions.create({model: 'default', messages, ...sampling});
  assert.equal(whole.object, 'chat.completion');
  assert.equal(whole.choices.length, 1);
  const choice = whole.choices[0];
  assert.equal(choice.message.role, 'assistant');
  assert.equal(typeof choice.message.content, 'string');
  assert.ok(choice.message.content.length > 0, 'the reply has text');
  assert.equal(choice.finish_reason, 'length');
  checkUsage(whole.usage, sampling.max_tokens);

  const stream = await client.chat.completions.create(
      {model: 'default', messages, ...sampling, stream: true, stream_options: {include_usage: true}});
  let text = '', finish = null, usage = null, chunks = 0;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    ++chunks;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.ok(chunks > 2, `${chunks} chunks`);
  assert.equal(text, choice.message.content, 'the streamed chat equals the whole one');
  assert.equal(finish, 'length');
  checkUsage(usage, sampling.max_tokens);
}

async function completion() {
  const prompt = 'Once upon a time';
  const whole = await client.completions.create({model: 'default', prompt, ...sampling});
  assert.equal(whole.object, 'text_completion');
  const choice = whole.choices[0];
  assert.equal(typeof choice.text, 'string');
  assert.ok(choice.text.length > 0, 'the completion has text');
  assert.equal(choice.finish_reason, 'length');
  checkUsage(whole.usage, sampling.max_tokens);

  const stream = await client.completions.create(
      {model: 'default', prompt, ...sampling, stream: true, stream_options: {include_usage: true}});
  let text = '', finish = null, usage = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'text_completion');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.text ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, choice.text, 'the streamed completion equals the whole one');
  assert.equal(finish, 'length');
  checkUsage(usage, sampling.max_tokens);
}

// The SDK turns the server's error JSON into its typed errors.
async function refusals() {
  await assert.rejects(client.completions.create({model: 'default', prompt: ''}), (error) => {
    assert.ok(error instanceof OpenAI.BadRequestError, `${error}`);
    assert.equal(error.status, 400);
    assert.equal(error.type, 'invalid_request_error');
    return true;
  });
  const stranger = new OpenAI({baseURL, apiKey: 'wrong', maxRetries: 0});
  await assert.rejects(stranger.models.list(), (error) => {
    assert.ok(error instanceof OpenAI.AuthenticationError, `${error}`);
    return true;
  });
  const models = await client.models.list();
  assert.equal(models.data.length, 1);
}

let failed = 0;
for (const [name, check] of [['chat', chat], ['completion', completion], ['refusals', refusals]]) {
  try {
    await check();
    console.log(`ok ${name}`);
  } catch (error) {
    ++failed;
    console.error(`FAILED ${name}: ${error.stack ?? error}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
