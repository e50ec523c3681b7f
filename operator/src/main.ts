// The operator image's one entry point. `main.js network-gate` is the sandbox's network gate, the init
// container of every agent pod (controllers/sandbox/network-gate.ts): it must start in milliseconds, so it is
// dispatched here before anything of the operator is loaded (which takes half a second and 90 MiB).
// Anything else runs the operator (operator.ts).
if (process.argv[2] === 'network-gate') {
  const { runNetworkGate } = await import('./controllers/sandbox/network-gate.ts');
  process.exit(await runNetworkGate(process.env));
} else {
  await import('./operator.ts');
}
