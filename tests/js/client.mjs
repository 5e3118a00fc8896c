// A real JavaScript client of a `bertlab export onnx` folder: transformers.js (ONNX Runtime under Node), offline.
// Usage: node client.mjs MODEL_DIR REQUEST.json
//   REQUEST.json: {"embed": ["text", ...], "fill_mask": ["text with [MASK]", ...], "top_k": 5}
// Prints one JSON object: {"embeddings": [[...], ...], "fill_mask": [[{"token": id, "token_str": "...", "score": p}, ...], ...]}
import fs from 'node:fs';
import path from 'node:path';
import { env, pipeline } from '@huggingface/transformers';

const [modelDir, requestPath] = process.argv.slice(2);
if (!modelDir || !requestPath) {
  console.error('usage: node client.mjs MODEL_DIR REQUEST.json');
  process.exit(2);
}
const request = JSON.parse(fs.readFileSync(requestPath, 'utf8'));
const absolute = path.resolve(modelDir);

// Offline: only the local folder, never the Hugging Face Hub.
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.dirname(absolute) + path.sep;
const modelId = path.basename(absolute);
// fp32 = onnx/model.onnx (no quantized variant), on the CPU.
const options = { dtype: 'fp32', device: 'cpu' };

const result = {};
if (request.embed?.length) {
  const extractor = await pipeline('feature-extraction', modelId, options);
  const output = await extractor(request.embed, { pooling: 'mean', normalize: true });
  result.embeddings = output.tolist();
}
if (request.fill_mask?.length) {
  const fill = await pipeline('fill-mask', modelId, options);
  result.fill_mask = [];
  for (const text of request.fill_mask) {
    const candidates = await fill(text, { top_k: request.top_k ?? 5 });
    result.fill_mask.push(candidates.map(c => ({ token: c.token, token_str: c.token_str, score: c.score })));
  }
}
process.stdout.write(JSON.stringify(result) + '\n');
