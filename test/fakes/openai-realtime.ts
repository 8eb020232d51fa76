/**
 * The stand-in for OpenAI's Realtime service the tests use: a real HTTP + WebSocket server
 * on loopback with the call accept endpoint and the sideband, which records what the broker
 * sends, lets a test script server events, and enforces one active response at a time
 * (`violations`). It lives in src/harness/ because `npm run simulate -- --runtime openai`
 * plays the same service; see there for its API.
 */
export { FakeCall, FakeRealtime, type AcceptRecord, type ClientEventRecord, type FakeRealtimeOptions } from '../../src/harness/openai-realtime-service.js';
