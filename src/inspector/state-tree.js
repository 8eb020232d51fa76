/**
 * Draws the session machine's state tree as nested boxes, statechart style: parallel
 * regions side by side behind dashed lines, substates stacked, invoked actors named,
 * the states of the current state value highlighted. The tree itself comes from the
 * broker (`GET /v1/sessions/machine`), so the drawing always matches the running machine.
 */
import { activePaths, h } from './dom.js';

/** @param machine `{ id, version, initial, states }` as the broker describes it; @param value a state value. */
export function renderStateTree(machine, value) {
  const active = activePaths(value);
  const activeLeaves = [...active].filter((path) => ![...active].some((other) => other.startsWith(`${path}.`)));
  return h(
    'div',
    { class: 'statechart', role: 'group', 'aria-label': `state machine ${machine.id}, now in ${activeLeaves.join(', ') || 'no state'}` },
    machine.states.map((node) => renderState(node, active, machine.initial)),
  );
}

function renderState(node, active, parentInitial) {
  const isActive = active.has(node.path);
  const classes = ['state', `state-${node.type}`, isActive ? 'active' : '', node.states.length === 0 ? 'leaf' : ''];
  const label = h(
    'div',
    { class: 'state-label' },
    parentInitial === node.key ? h('span', { class: 'initial', title: 'initial state' }, '●') : null,
    h('span', { class: 'state-name' }, node.key),
    node.type === 'final' ? h('span', { class: 'tag' }, 'final') : null,
    node.invokes.map((name) => h('span', { class: 'tag invoke', title: 'invoked actor' }, name)),
  );
  let children = null;
  if (node.states.length > 0) {
    children = h(
      'div',
      { class: node.type === 'parallel' ? 'regions' : 'substates' },
      node.states.map((child) => renderState(child, active, node.initial)),
    );
  }
  return h('div', { class: classes.filter(Boolean).join(' '), dataset: { path: node.path, type: node.type }, 'aria-current': isActive ? 'true' : null }, label, children);
}
