// Experiment (bench only, never shipped): preloaded into the operator with
// `node bench/run.ts --experiment no-events`, it turns EventRecorder.record into a no-op,
// so an A/B run shows what the operator's events.k8s.io Events cost the control plane
// (API server CPU, throughput, latency). Not a proposal to drop Events: a price tag.
import { EventRecorder } from '../../operator/src/kube/events.ts';

EventRecorder.prototype.record = function record(): void {};
