// Median latency of onnxruntime-node (CPU, one thread, optimizations all, no spinning) on <model.onnx> with
// <input.npy> [runs]; used by scripts/bench/compare.sh with NODE_PATH pointing at its npm install.
const ort = require('onnxruntime-node');
const fs = require('fs');
function npy(p) { const b = fs.readFileSync(p); const hl = b.readUInt16LE(8); const h = b.slice(10, 10 + hl).toString();
  const shape = h.match(/'shape': \(([^)]*)\)/)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  return { shape, data: new Float32Array(b.buffer.slice(b.byteOffset + 10 + hl, b.byteOffset + b.length)) }; }
(async () => {
  const [model, input, runs] = [process.argv[2], process.argv[3], Number(process.argv[4] || 20)];
  const s = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', extra: { session: { intra_op: { allow_spinning: '0' } } } });
  const x = npy(input); const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape) };
  for (let i = 0; i < 3; i++) await s.run(feeds);
  const t = [];
  for (let i = 0; i < runs; i++) { const t0 = process.hrtime.bigint(); await s.run(feeds); t.push(Number(process.hrtime.bigint() - t0) / 1e6); }
  t.sort((a, b) => a - b);
  console.log(`ort_median_ms ${t[Math.floor(t.length / 2)].toFixed(3)} ort_min_ms ${t[0].toFixed(3)}`);
})().catch(e => { console.log('ORT failed:', e.message.split('\n')[0]); process.exit(1); });
