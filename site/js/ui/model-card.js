// Render one model card: what the model does, its classes, size, licence and source.

const MANY_CLASSES = 6;

/**
 * Turn a card value (string, number, list or plain object) into readable text.
 * @param {unknown} value
 * @returns {string}
 */
export function describeValue(value) {
  if (value === null || value === undefined || value === '') {
    return '—';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? value.toLocaleString('en-US') : String(value);
  }
  if (Array.isArray(value)) {
    return value.map(describeValue).join(' × ');
  }
  if (typeof value === 'object') {
    return Object.entries(value)
      .map(([key, inner]) => `${key.replaceAll('_', ' ')}: ${describeValue(inner)}`)
      .join('; ');
  }
  return String(value);
}

/**
 * CSS colour of a class, from its [r, g, b] 0-255 triple.
 * @param {number[]} color
 * @returns {string}
 */
export function cssColor(color) {
  const [r, g, b] = color;
  return `rgb(${r}, ${g}, ${b})`;
}

function classItem(cls) {
  const item = document.createElement('li');
  const swatch = document.createElement('span');
  swatch.className = 'swatch';
  swatch.style.background = cssColor(cls.color);
  item.append(swatch, `${cls.index} ${cls.name}`);
  return item;
}

function classList(classes) {
  const list = document.createElement('ul');
  list.className = 'class-list';
  list.append(...classes.map(classItem));
  if (classes.length <= MANY_CLASSES) {
    return list;
  }
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = `Show all ${classes.length} labels`;
  details.append(summary, list);
  return details;
}

function sourceText(source) {
  if (!source) {
    return '—';
  }
  const commit = source.commit ? ` @ ${String(source.commit).slice(0, 10)}` : '';
  return `${source.repo ?? describeValue(source)}${commit}`;
}

function network(card) {
  const parts = [];
  if (card.layers) {
    parts.push(`${card.layers} layers`);
  }
  if (card.channels) {
    parts.push(`${card.channels} channels`);
  }
  const grid = card.conform;
  if (grid?.shape) {
    parts.push(`runs on ${grid.shape.join('×')} at ${grid.voxel_size?.[0] ?? '?'} mm`);
  }
  return parts.length > 0 ? parts.join(', ') : '—';
}

function definitionList(rows) {
  const list = document.createElement('dl');
  for (const [term, value] of rows) {
    const dt = document.createElement('dt');
    const dd = document.createElement('dd');
    dt.textContent = term;
    dd.textContent = value;
    list.append(dt, dd);
  }
  return list;
}

/**
 * Fill container with the card of one model (empty when card is null).
 * @param {HTMLElement} container
 * @param {object|null} card - model card as listed by the segmenter
 */
export function renderModelCard(container, card) {
  container.replaceChildren();
  if (!card) {
    return;
  }
  const description = document.createElement('p');
  description.textContent = card.description ?? '';
  const rows = [
    ['Model id', card.id],
    ['Task', describeValue(card.task)],
    ['Labels', `${card.classes.length}`],
    ['Parameters', describeValue(card.parameters)],
    ['Network', network(card)],
    ['Expects', describeValue(card.expects)],
    ['Licence', describeValue(card.licence)],
    ['Source', sourceText(card.source)],
  ];
  if (card.metrics && Object.keys(card.metrics).length > 0) {
    rows.push(['Metrics', describeValue(card.metrics)]);
  }
  container.append(description, definitionList(rows), classList(card.classes));
}
