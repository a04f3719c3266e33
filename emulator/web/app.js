// Dono playground: a subscriber's private chat and the operators' forum group, driven through
// the emulator's /_emu/ control API; `dono playground` adds /_play/desk (tickets and the bot's
// decisions, from its database), without which the page still works as a plain emulator UI.
// Message text is rendered by building DOM nodes from text + entities; raw text never goes
// through innerHTML.
"use strict";

const EVENT_KINDS = [
  "message", "edit", "delete", "callback_answer", "user_created", "chat_created", "chat_updated",
  "topic_created", "topic_edited", "topic_closed", "topic_reopened", "topic_deleted",
  "block", "unblock",
].join(",");
const SAFE_SCHEMES = new Set(["http:", "https:", "tg:", "mailto:"]);

const state = {
  cursor: 0,
  bot: null,
  users: new Map(),     // id -> user JSON
  chats: new Map(),     // chat id -> chat summary (default bot's view)
  messages: new Map(),  // chat id -> Map(message_id -> message JSON)
  userId: null,
  groupId: null,
  threadId: null,       // null = General
  agentId: null,
  replyTo: null,
  unread: new Map(),    // `${chat}:${thread}` -> count
  userTarget: null,     // {mode: "reply"|"edit", message} in the subscriber's composer
  hiddenKeyboard: null, // the one-time reply keyboard the subscriber has used (JSON string)
  desk: null,           // /_play/desk result, or null without the playground
  relayed: new Map(),   // group message id -> ticket (the subscriber's messages in topics)
  places: [],           // where a shared location can be (the bot's districts)
};
const FALLBACK_PLACE = { name: "Dushanbe", latitude: 38.5598, longitude: 68.787 };

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "testid") node.dataset.testid = value;
    else if (key.startsWith("data-")) node.setAttribute(key, String(value));
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const resp = await fetch(path.startsWith("/_play/") ? path : `/_emu${path}`, init);
  if (!(resp.headers.get("Content-Type") || "").includes("json")) throw new Error(`HTTP ${resp.status}`);
  const data = await resp.json();
  if (!data.ok) throw new Error(data.error || `HTTP ${resp.status}`);
  return data.result;
}

function showError(testid, error) {
  const box = $(testid);
  box.textContent = error ? String(error.message || error) : "";
  box.hidden = !error;
}

// ------------------------------------------------------------------ entities

function safeUrl(url) {
  try {
    const parsed = new URL(url, window.location.href);
    return SAFE_SCHEMES.has(parsed.protocol) ? parsed.href : null;
  } catch (_error) {
    return null;
  }
}

function entityNode(entity, slice) {
  switch (entity.type) {
    case "bold": return el("b");
    case "italic": return el("i");
    case "underline": return el("u");
    case "strikethrough": return el("s");
    case "spoiler": {
      const span = el("span", { class: "spoiler", "data-testid": "spoiler" });
      span.addEventListener("click", () => span.classList.add("revealed"));
      return span;
    }
    case "code": return el("code");
    case "pre": return el("pre", { "data-language": entity.language });
    case "blockquote":
    case "expandable_blockquote": return el("blockquote");
    case "text_link":
    case "url":
    case "email": {
      const target = entity.type === "text_link" ? entity.url
        : entity.type === "email" ? `mailto:${slice}` : slice;
      const href = safeUrl(/^[a-z]+:/i.test(target) ? target : `http://${target}`);
      return href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }) : el("span");
    }
    default: return el("span", { class: `entity-${entity.type}` });
  }
}

function renderRange(text, entities, start, end) {
  const frag = document.createDocumentFragment();
  let pos = start;
  let index = 0;
  while (index < entities.length) {
    const entity = entities[index];
    const entityEnd = Math.min(entity.offset + entity.length, end);
    if (entity.offset < pos || entity.offset >= end) { index += 1; continue; }
    if (entity.offset > pos) frag.append(text.slice(pos, entity.offset));
    const inner = [];
    let next = index + 1;
    while (next < entities.length && entities[next].offset < entityEnd) {
      if (entities[next].offset + entities[next].length <= entityEnd) inner.push(entities[next]);
      next += 1;
    }
    const node = entityNode(entity, text.slice(entity.offset, entityEnd));
    node.append(renderRange(text, inner, entity.offset, entityEnd));
    frag.append(node);
    pos = entityEnd;
    index = next;
  }
  if (pos < end) frag.append(text.slice(pos, end));
  return frag;
}

// JS strings are UTF-16, the unit Telegram uses for entity offsets.
function renderFormatted(text, entities) {
  const sorted = [...(entities || [])].sort((a, b) => a.offset - b.offset || b.length - a.length);
  return renderRange(text || "", sorted, 0, (text || "").length);
}

// ------------------------------------------------------------------ messages

function fullName(user) {
  return [user && user.first_name, user && user.last_name].filter(Boolean).join(" ") || "?";
}

function senderName(message) {
  return fullName(message.from);
}

function initials(name) {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0]).join("").toUpperCase() || "?";
}

const AVATAR_COLOURS = ["#e17076", "#7bc862", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];

function avatarNode(user, kind) {
  const name = fullName(user);
  const colour = kind === "bot" ? "#517da2" : AVATAR_COLOURS[Math.abs(Number(user && user.id) || 0) % AVATAR_COLOURS.length];
  return el("div", {
    class: `avatar ${kind}`, testid: "message-avatar", title: name, style: `background:${colour}`,
    text: kind === "bot" ? "🤖" : initials(name),
  });
}

function timeNode(message) {
  const when = new Date((message.date || 0) * 1000);
  const hhmm = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  return el("time", {
    class: "time", testid: "message-time", datetime: when.toISOString(), title: when.toLocaleString(), text: hhmm,
  });
}

function serviceText(message) {
  if (message.forum_topic_created) return `Topic created: ${message.forum_topic_created.name}`;
  if (message.forum_topic_edited) return `Topic edited${message.forum_topic_edited.name ? `: ${message.forum_topic_edited.name}` : ""}`;
  if (message.forum_topic_closed) return "Topic closed";
  if (message.forum_topic_reopened) return "Topic reopened";
  return null;
}

function fileLink(file, testid, label) {
  return el("a", {
    href: `/_emu/files/${encodeURIComponent(file.file_id)}`, target: "_blank", testid, text: label,
  });
}

function mediaNode(message) {
  if (message.photo && message.photo.length) {
    const biggest = message.photo[message.photo.length - 1];
    return el("img", {
      src: `/_emu/files/${encodeURIComponent(biggest.file_id)}`,
      alt: "photo",
      testid: "message-photo",
    });
  }
  if (message.document) return fileLink(message.document, "message-document", `📄 ${message.document.file_name || "document"}`);
  if (message.voice) return fileLink(message.voice, "message-voice", `🎤 voice message, ${message.voice.duration}s`);
  if (message.sticker) return el("div", { class: "sticker", testid: "message-sticker", text: message.sticker.emoji || "[sticker]" });
  if (message.video) return el("div", { testid: "message-video", text: "🎬 video" });
  if (message.audio) return el("div", { testid: "message-audio", text: "🎵 audio" });
  if (message.location) {
    const { latitude, longitude } = message.location;
    return el("a", {
      testid: "message-location", target: "_blank", rel: "noopener noreferrer",
      href: `https://www.openstreetmap.org/?mlat=${latitude}&mlon=${longitude}#map=12/${latitude}/${longitude}`,
      text: `📍 ${latitude.toFixed(4)}, ${longitude.toFixed(4)}`,
    });
  }
  if (message.contact) {
    return el("div", { testid: "message-contact", text: `👤 ${message.contact.first_name} ${message.contact.phone_number}` });
  }
  return null;
}

function keyboardNode(message, chatId) {
  const rows = (message.reply_markup && message.reply_markup.inline_keyboard) || [];
  if (!rows.length) return null;
  const box = el("div", { class: "keyboard", testid: "inline-keyboard" });
  for (const row of rows) {
    const rowNode = el("div", { class: "row" });
    for (const button of row) {
      if (button.url) {
        const href = safeUrl(button.url);
        rowNode.append(el("a", {
          testid: "inline-button", "data-kind": "url", href: href || undefined,
          target: "_blank", rel: "noopener noreferrer", text: button.text,
        }));
      } else if (button.callback_data !== undefined) {
        rowNode.append(el("button", {
          type: "button", testid: "inline-button", "data-kind": "callback",
          "data-callback-data": button.callback_data, text: button.text,
          onclick: () => pressButton(chatId, message.message_id, button.callback_data),
        }));
      } else {
        rowNode.append(el("button", { type: "button", testid: "inline-button", "data-kind": "other", disabled: true, text: button.text }));
      }
    }
    box.append(rowNode);
  }
  return box;
}

// Who a message is from, as the person at this desk sees it: in a ticket's topic the bot's
// copies of the subscriber's messages are the subscriber's.
function authorOf(message, group) {
  const fromBot = Boolean(message.from && message.from.is_bot);
  const ticket = group && fromBot ? state.relayed.get(message.message_id) : undefined;
  if (ticket) return { kind: "subscriber", testid: "subscriber-message", user: ticket.subscriber || { id: ticket.user_id, first_name: `#${ticket.user_id}` } };
  if (fromBot) return { kind: "bot", testid: "bot-message", user: message.from };
  return { kind: group ? "agent" : "subscriber", testid: group ? "agent-message" : "user-message", user: message.from };
}

function messageActions(message, { group, mine }) {
  const actions = el("span", { class: "actions" });
  const reply = group ? () => setReplyTarget(message) : () => setUserTarget("reply", message);
  actions.append(el("button", { type: "button", class: "action", testid: "message-reply", text: "↩", title: "Reply", onclick: reply }));
  if (!group && mine && (message.text !== undefined || message.caption !== undefined)) {
    actions.append(el("button", {
      type: "button", class: "action", testid: "message-edit", text: "✎", title: "Edit",
      onclick: () => setUserTarget("edit", message),
    }));
  }
  return actions;
}

function messageNode(message, { chatId, mine, group }) {
  const service = serviceText(message);
  if (service) {
    return el("div", { class: "msg service", testid: "service-message", "data-message-id": message.message_id }, service);
  }
  const author = authorOf(message, group);
  const node = el("div", {
    class: `line${mine ? " mine" : ""} ${author.kind}`,
    testid: author.testid,
    "data-message-id": message.message_id,
    "data-from-bot": message.from && message.from.is_bot ? "true" : "false",
  });
  const bubble = el("div", { class: "msg" });
  const meta = el("div", { class: "meta" }, el("span", { class: "sender", testid: "message-sender", text: fullName(author.user) }));
  if (author.kind === "subscriber" && group) meta.append(el("span", { class: "via", text: "subscriber · via bot" }));
  bubble.append(meta);
  const quoted = message.reply_to_message;
  if (quoted && !serviceText(quoted)) {
    const quoteText = quoted.text || quoted.caption || (mediaNode(quoted) || {}).textContent || "[media]";
    const quoteAuthor = fullName(authorOf(quoted, group).user);
    bubble.append(el("div", { class: "quote", testid: "message-quote", text: `${quoteAuthor}: ${quoteText.slice(0, 80)}` }));
  }
  const media = mediaNode(message);
  if (media) bubble.append(media);
  if (message.text !== undefined || message.caption !== undefined) {
    const body = el("div", { class: "text", testid: "message-text" });
    body.append(message.text !== undefined
      ? renderFormatted(message.text, message.entities)
      : renderFormatted(message.caption, message.caption_entities));
    bubble.append(body);
  }
  const foot = el("div", { class: "foot" }, messageActions(message, { group, mine }));
  if (message.edit_date) foot.append(el("span", { class: "edited", testid: "message-edited", text: "edited" }));
  foot.append(timeNode(message));
  bubble.append(foot);
  const keyboard = keyboardNode(message, chatId);
  if (keyboard) bubble.append(keyboard);
  if (!mine) node.append(avatarNode(author.user, author.kind));
  node.append(bubble);
  return node;
}

function chatMessages(chatId) {
  if (!state.messages.has(chatId)) state.messages.set(chatId, new Map());
  return state.messages.get(chatId);
}

function scrollDown(box) { box.scrollTop = box.scrollHeight; }

function renderUserChat() {
  const box = $("user-messages");
  box.replaceChildren();
  if (state.userId === null) return;
  for (const message of chatMessages(state.userId).values()) {
    box.append(messageNode(message, { chatId: state.userId, mine: !message.from.is_bot, group: false }));
  }
  renderReplyKeyboard();
  const user = state.users.get(state.userId);
  $("user-block-toggle").textContent = user && user.blocked ? "Unblock bot" : "Block bot";
  scrollDown(box);
}

// A reply keyboard as Telegram shows it: request_location shares where the phone is,
// request_contact the subscriber's own number, any other button sends its text; a one-time
// keyboard folds away once used (⌨ brings it back).
function renderReplyKeyboard() {
  const box = $("reply-keyboard");
  box.replaceChildren();
  const chat = state.chats.get(state.userId);
  const keyboard = chat && chat.reply_keyboard;
  const shown = keyboard && keyboard.keyboard ? JSON.stringify(keyboard) : null;
  if (state.hiddenKeyboard !== shown) state.hiddenKeyboard = null;
  $("keyboard-show").hidden = !shown || state.hiddenKeyboard !== shown;
  if (!shown || state.hiddenKeyboard === shown) return;
  for (const row of keyboard.keyboard) {
    const rowNode = el("div", { class: "row" });
    for (const button of row) {
      const kind = button.request_location ? "location" : button.request_contact ? "contact" : "text";
      rowNode.append(el("button", {
        type: "button", testid: "keyboard-button", "data-kind": kind, text: button.text,
        onclick: () => guard("user-error", async () => {
          if (kind === "location") await sendUserLocation();
          else if (kind === "contact") await sendUserContact();
          else await sendUserText(button.text);
          if (keyboard.one_time_keyboard) { state.hiddenKeyboard = shown; renderReplyKeyboard(); }
        }),
      }));
    }
    box.append(rowNode);
  }
}

function threadMessages() {
  if (state.groupId === null) return [];
  return [...chatMessages(state.groupId).values()].filter(
    (m) => (m.message_thread_id ?? null) === state.threadId,
  );
}

function renderGroup() {
  const box = $("group-messages");
  box.replaceChildren();
  renderTopics();
  if (state.groupId === null) return;
  for (const message of threadMessages()) {
    box.append(messageNode(message, { chatId: state.groupId, mine: message.from && message.from.id === state.agentId, group: true }));
  }
  scrollDown(box);
}

function ticketOfThread(threadId) {
  if (!state.desk || state.desk.group_id !== state.groupId) return null;
  return state.desk.tickets.find((t) => t.thread_id === threadId) || null;
}

function ticketStateText(ticket) {
  if (ticket.status === "waiting") return "⏳ waiting";
  if (ticket.status === "claimed") return `👤 claimed by ${ticket.agent_name || "an agent"}`;
  return "✓ closed";
}

function renderTopics() {
  const nav = $("topic-list");
  nav.replaceChildren();
  const chat = state.chats.get(state.groupId);
  const title = $("thread-title");
  if (!chat) { title.textContent = "No operator group yet"; return; }
  const tabs = [{ message_thread_id: null, name: "General", closed: false }]
    .concat((chat.topics || []).filter((t) => !t.deleted));
  for (const topic of tabs) {
    const id = topic.message_thread_id;
    const unread = state.unread.get(`${chat.id}:${id}`) || 0;
    const ticket = id === null ? null : ticketOfThread(id);
    const tab = el("button", {
      type: "button",
      testid: "topic-tab",
      "data-thread-id": id === null ? "" : id,
      class: `${id === state.threadId ? "active" : ""}${topic.closed ? " closed" : ""}`,
      onclick: () => selectThread(id),
    }, el("span", { class: "topic-name", text: topic.name }));
    if (unread && id !== state.threadId) tab.append(el("span", { class: "badge", testid: "topic-unread", text: String(unread) }));
    if (ticket) {
      tab.append(el("span", { class: `topic-state ${ticket.status}`, testid: "topic-state", "data-state": ticket.status, text: ticketStateText(ticket) }));
    }
    nav.append(tab);
  }
  const current = tabs.find((t) => t.message_thread_id === state.threadId);
  const ticket = state.threadId === null ? null : ticketOfThread(state.threadId);
  title.textContent = `${current ? current.name : "General"}${ticket ? ` · ${ticketStateText(ticket)}` : ""}`;
}

function renderSelectors() {
  const userSelect = $("user-select");
  const agentIds = new Set();
  for (const chat of state.chats.values()) {
    if (chat.type !== "private") for (const id of chat.members) agentIds.add(id);
  }
  userSelect.replaceChildren();
  for (const user of state.users.values()) {
    if (agentIds.has(user.id) && user.id !== state.userId) continue;
    userSelect.append(el("option", { value: user.id, text: `${fullName(user)} (${user.language_code || "-"}) #${user.id}` }));
  }
  if (state.userId !== null) userSelect.value = String(state.userId);

  const groupSelect = $("group-select");
  groupSelect.replaceChildren();
  for (const chat of state.chats.values()) {
    if (chat.type === "private") continue;
    groupSelect.append(el("option", { value: chat.id, text: `${chat.title} ${chat.id}` }));
  }
  if (state.groupId !== null) groupSelect.value = String(state.groupId);

  const agentSelect = $("agent-select");
  agentSelect.replaceChildren();
  const group = state.chats.get(state.groupId);
  for (const id of (group ? group.members : [])) {
    const user = state.users.get(id);
    if (user) agentSelect.append(el("option", { value: id, text: user.first_name }));
  }
  if (group && !group.members.includes(state.agentId)) state.agentId = group.members[0] ?? null;
  if (state.agentId !== null) agentSelect.value = String(state.agentId);
}

function renderPlaces() {
  const select = $("device-location");
  const current = select.value;
  select.replaceChildren();
  const places = state.places.length ? state.places : [FALLBACK_PLACE];
  places.forEach((place, index) => select.append(el("option", { value: index, text: place.name })));
  if (current && Number(current) < places.length) select.value = current;
}

function devicePlace() {
  const places = state.places.length ? state.places : [FALLBACK_PLACE];
  return places[Number($("device-location").value) || 0];
}

// ------------------------------------------------------------- desk (bot's view)

function renderDecisions() {
  const list = $("decision-list");
  list.replaceChildren();
  for (const d of (state.desk ? state.desk.decisions : [])) {
    const user = state.users.get(d.user_id);
    const when = new Date(d.ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
    list.append(el("li", { class: `decision ${d.kind}`, testid: "decision-row", "data-kind": d.kind },
      el("div", { class: "decision-head" },
        el("span", { class: "kind", testid: "decision-kind", text: d.kind }),
        el("span", { class: "what", testid: "decision-topic", text: d.topic || d.intent || "" }),
        el("span", { class: "score", testid: "decision-score", text: Number(d.score).toFixed(2) })),
      el("div", { class: "asked", text: `${user ? fullName(user) : `#${d.user_id}`} · ${when}${d.lang ? ` · ${d.lang}` : ""}` }),
      el("div", { class: "said", testid: "decision-text", text: `“${d.text}”` }),
      el("div", { class: "reading", testid: "decision-reading", title: "how the matcher read it", text: `read as: ${d.normalized}` })));
  }
}

async function refreshDesk() {
  const desk = await api("GET", "/_play/desk");
  const before = JSON.stringify(state.desk);
  if (JSON.stringify(desk) === before) return;
  state.desk = desk;
  state.relayed = new Map();
  for (const ticket of desk.tickets) for (const id of ticket.from_subscriber) state.relayed.set(id, ticket);
  if (JSON.stringify(desk.places) !== JSON.stringify(state.places)) { state.places = desk.places; renderPlaces(); }
  renderGroup();
  renderDecisions();
}

// Under `dono playground` the desk view refreshes every 0.7 s; the plain emulator has no such
// route (404), so its page offers to create a group instead.
async function pollDesk() {
  for (;;) {
    try {
      await refreshDesk();
      if ($("decisions-toggle").hidden) {
        $("decisions-toggle").hidden = false;
        setDecisionsShown(true);
      }
    } catch (error) {
      if (state.desk === null && error.message === "HTTP 404") {
        $("create-group").hidden = false;
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}

function setDecisionsShown(shown) {
  $("decisions-toggle").setAttribute("aria-pressed", String(shown));
  $("decisions-pane").hidden = !shown;
  $("panes").classList.toggle("with-decisions", shown);
}

// ------------------------------------------------------------------ actions

async function loadChat(chatId) {
  const list = await api("GET", `/chats/${chatId}/messages`);
  const map = chatMessages(chatId);
  map.clear();
  for (const message of list) map.set(message.message_id, message);
}

async function selectUser(userId) {
  state.userId = userId;
  state.userTarget = null;
  renderUserTarget();
  if (userId !== null) await loadChat(userId);
  renderSelectors();
  renderUserChat();
}

async function selectGroup(chatId) {
  state.groupId = chatId;
  state.threadId = null;
  state.replyTo = null;
  renderReplyTarget();
  if (chatId !== null) await loadChat(chatId);
  renderSelectors();
  renderGroup();
}

function selectThread(threadId) {
  state.threadId = threadId;
  state.unread.delete(`${state.groupId}:${threadId}`);
  state.replyTo = null;
  renderReplyTarget();
  renderGroup();
}

function setReplyTarget(message) {
  state.replyTo = message;
  renderReplyTarget();
  $("group-input").focus();
}

function renderReplyTarget() {
  const box = $("group-reply-target");
  box.hidden = !state.replyTo;
  $("group-reply-text").textContent = state.replyTo
    ? `Replying to ${fullName(authorOf(state.replyTo, true).user)}: ${(state.replyTo.text || state.replyTo.caption || "[media]").slice(0, 60)}`
    : "";
}

function setUserTarget(mode, message) {
  state.userTarget = { mode, message };
  renderUserTarget();
  const input = $("user-input");
  if (mode === "edit") input.value = message.text ?? message.caption ?? "";
  input.focus();
}

function renderUserTarget() {
  const target = state.userTarget;
  $("user-reply-target").hidden = !target;
  if (!target) { $("user-reply-text").textContent = ""; return; }
  const quoted = (target.message.text || target.message.caption || "[media]").slice(0, 60);
  $("user-reply-text").textContent = target.mode === "edit"
    ? `Editing: ${quoted}`
    : `Replying to ${senderName(target.message)}: ${quoted}`;
}

function subscriber() {
  if (state.userId === null) throw new Error("pick or create a subscriber first");
  return state.userId;
}

// Fields every message from the subscriber carries: who, and the message replied to.
function fromSubscriber(extra = {}) {
  const body = { user_id: subscriber(), ...extra };
  if (state.userTarget && state.userTarget.mode === "reply") body.reply_to = state.userTarget.message.message_id;
  return body;
}

async function sent(promise) {
  const result = await promise;
  state.userTarget = null;
  renderUserTarget();
  return result;
}

async function sendUserText(text) {
  await sent(api("POST", "/send/text", fromSubscriber({ text })));
}

async function sendUserLocation() {
  const place = devicePlace();
  await sent(api("POST", "/send/location", fromSubscriber({ latitude: place.latitude, longitude: place.longitude })));
}

async function sendUserContact() {
  await sent(api("POST", "/send/contact", fromSubscriber({ phone_number: "+992900000000" })));
}

async function sendUserFile(kind, file, caption) {
  const form = new FormData();
  for (const [key, value] of Object.entries(fromSubscriber())) form.append(key, String(value));
  if (caption) form.append("caption", caption);
  form.append(kind, file, file.name || kind);
  await sent(api("POST", `/send/${kind}`, form));
}

async function pressButton(chatId, messageId, data) {
  const toast = chatId > 0 ? "callback-toast" : "group-callback-toast";
  try {
    const user = chatId > 0 ? chatId : state.agentId;
    const body = { user_id: user, message_id: messageId, callback_data: data };
    if (chatId < 0) body.chat_id = chatId;
    const { callback_query_id: id } = await api("POST", "/press", body);
    const answer = await api("GET", `/callbacks/${id}?timeout=15`);
    showToast(toast, answer.text || "✓", answer.show_alert);
  } catch (error) {
    showToast(toast, `callback failed: ${error.message}`, true);
  }
}

// The answer to a button press shows over the pane of whoever pressed it.
const toastTimers = new Map();
function showToast(testid, text, alert) {
  const toast = $(testid);
  toast.textContent = text;
  toast.classList.toggle("alert", Boolean(alert));
  toast.hidden = false;
  clearTimeout(toastTimers.get(testid));
  toastTimers.set(testid, setTimeout(() => { toast.hidden = true; }, alert ? 6000 : 2500));
}

async function guard(errorBox, action) {
  try {
    await action();
    showError(errorBox, null);
  } catch (error) { showError(errorBox, error); }
}
// ------------------------------------------------------------------- events

function applyChat(summary) {
  if (summary.type === "private" && state.bot && summary.bot_id !== state.bot.id) return;
  state.chats.set(summary.id, summary);
}

function onMessageEvent(event) {
  const message = event.data.message;
  if (event.chat_id > 0 && state.bot && event.bot_id !== state.bot.id) return;
  chatMessages(event.chat_id).set(message.message_id, message);
  const chat = state.chats.get(event.chat_id);
  if (chat && event.chat_id > 0) chat.reply_keyboard = event.data.reply_keyboard;
  if (event.chat_id === state.userId) renderUserChat();
  if (event.chat_id === state.groupId) {
    const thread = message.message_thread_id ?? null;
    if (thread !== state.threadId) {
      const key = `${event.chat_id}:${thread}`;
      state.unread.set(key, (state.unread.get(key) || 0) + 1);
      renderTopics();
    } else {
      renderGroup();
    }
  }
}

function handleEvent(event) {
  switch (event.kind) {
    case "message":
      onMessageEvent(event);
      break;
    case "edit": {
      const map = chatMessages(event.chat_id);
      map.set(event.message_id, event.data.message);
      if (event.chat_id === state.userId) renderUserChat();
      if (event.chat_id === state.groupId) renderGroup();
      break;
    }
    case "delete":
      chatMessages(event.chat_id).delete(event.message_id);
      if (event.chat_id === state.userId) renderUserChat();
      if (event.chat_id === state.groupId) renderGroup();
      break;
    case "user_created":
      state.users.set(event.data.user.id, event.data.user);
      renderSelectors();
      break;
    case "chat_created":
      applyChat(event.data.chat);
      renderSelectors();
      if (state.groupId === null && event.data.chat.type !== "private") selectGroup(event.data.chat.id);
      break;
    case "chat_updated":
      applyChat(event.data.chat);
      renderSelectors();
      if (event.chat_id === state.groupId) renderGroup();
      break;
    case "block":
    case "unblock": {
      const user = state.users.get(event.data.user_id);
      if (user) user.blocked = event.kind === "block";
      if (event.data.user_id === state.userId) renderUserChat();
      break;
    }
    case "topic_created":
    case "topic_edited":
    case "topic_closed":
    case "topic_reopened":
    case "topic_deleted": {
      const chat = state.chats.get(event.chat_id);
      if (!chat) break;
      const topics = (chat.topics || []).filter((t) => t.message_thread_id !== event.thread_id);
      topics.push(event.data);
      topics.sort((a, b) => a.message_thread_id - b.message_thread_id);
      chat.topics = topics;
      if (event.kind === "topic_deleted") {
        const map = chatMessages(event.chat_id);
        for (const [id, m] of map) if (m.message_thread_id === event.thread_id) map.delete(id);
        if (state.threadId === event.thread_id) state.threadId = null;
      }
      if (event.chat_id === state.groupId) renderGroup();
      break;
    }
    default:
      break;
  }
}

function setStatus(online) {
  const status = $("connection-status");
  status.dataset.state = online ? "online" : "offline";
  status.textContent = online ? "online" : "offline, retrying…";
}

async function poll() {
  for (;;) {
    try {
      const result = await api("GET", `/events?since=${state.cursor}&timeout=25&kinds=${EVENT_KINDS}`);
      setStatus(true);
      for (const event of result.events) handleEvent(event);
      state.cursor = result.cursor;
    } catch (_error) {
      setStatus(false);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      try { await bootstrap(false); } catch (_again) { /* still down */ }
    }
  }
}

async function bootstrap(first) {
  const snapshot = await api("GET", "/state");
  state.cursor = snapshot.cursor;
  state.bot = snapshot.bots.find((b) => b.token === snapshot.default_token) || snapshot.bots[0];
  $("bot-name").textContent = `@${state.bot.username}`;
  state.users = new Map(snapshot.users.map((u) => [u.id, { ...u, blocked: (u.blocked_bots || []).includes(state.bot.id) }]));
  state.chats = new Map();
  for (const chat of snapshot.chats) applyChat(chat);
  if (first) {
    const groups = snapshot.chats.filter((c) => c.type !== "private");
    state.groupId = groups.length ? groups[0].id : null;
    const members = new Set(groups.flatMap((g) => g.members));
    const person = snapshot.users.find((u) => !members.has(u.id));
    state.userId = person ? person.id : null;
  }
  if (state.userId !== null) await loadChat(state.userId);
  if (state.groupId !== null) await loadChat(state.groupId);
  renderSelectors();
  renderUserChat();
  renderGroup();
  setStatus(true);
}

function wireSubscriber() {
  $("user-select").addEventListener("change", (e) => selectUser(Number(e.target.value)));
  $("new-user-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = $("new-user-name").value.trim() || "Subscriber";
    await guard("user-error", async () => {
      const user = await api("POST", "/users", { first_name: name, language_code: $("new-user-lang").value });
      state.users.set(user.id, user);
      $("new-user-name").value = "";
      await selectUser(user.id);
    });
  });
  $("attach-toggle").addEventListener("click", () => {
    $("attach-menu").hidden = !$("attach-menu").hidden;
    scrollDown($("user-messages"));
  });
  $("keyboard-show").addEventListener("click", () => { state.hiddenKeyboard = null; renderReplyKeyboard(); });
  const attached = (action) => guard("user-error", async () => {
    $("attach-menu").hidden = true;
    await action();
  });
  for (const kind of ["photo", "document"]) {
    const input = $(`user-${kind}-input`);
    input.addEventListener("change", () => attached(async () => {
      const file = input.files[0];
      input.value = "";
      if (!file) return;
      await sendUserFile(kind, file, $("user-input").value.trim());
      $("user-input").value = "";
    }));
  }
  $("attach-voice").addEventListener("click", () => attached(() => sent(api("POST", "/send/voice", fromSubscriber({ duration: 3 })))));
  $("attach-sticker").addEventListener("click", () => attached(() => sent(api("POST", "/send/sticker", fromSubscriber({ emoji: "😊" })))));
  $("attach-location").addEventListener("click", () => attached(sendUserLocation));
  $("attach-contact").addEventListener("click", () => attached(sendUserContact));
  $("user-reply-cancel").addEventListener("click", () => {
    if (state.userTarget && state.userTarget.mode === "edit") $("user-input").value = "";
    state.userTarget = null;
    renderUserTarget();
  });
  $("user-composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("user-input");
    const text = input.value;
    if (!text.trim()) return;
    await guard("user-error", async () => {
      const target = state.userTarget;
      if (target && target.mode === "edit") {
        await sent(api("POST", "/edit", { user_id: subscriber(), message_id: target.message.message_id, text }));
      } else {
        await sendUserText(text);
      }
      input.value = "";
    });
  });
  $("user-block-toggle").addEventListener("click", async () => {
    const user = state.users.get(state.userId);
    if (!user) return;
    await guard("user-error", () => api("POST", "/block", { user_id: user.id, blocked: !user.blocked }));
  });
}

function wireGroup() {
  $("group-select").addEventListener("change", (e) => selectGroup(Number(e.target.value)));
  $("agent-select").addEventListener("change", (e) => {
    state.agentId = Number(e.target.value);
    renderGroup();
  });
  $("new-agent-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (state.groupId === null) return;
    const name = $("new-agent-name").value.trim() || "Agent";
    await guard("group-error", async () => {
      const agent = await api("POST", "/users", { first_name: name, language_code: "ru" });
      state.users.set(agent.id, agent);
      const chat = await api("POST", `/chats/${state.groupId}/members`, { user_id: agent.id });
      applyChat(chat);
      state.agentId = agent.id;
      $("new-agent-name").value = "";
      renderSelectors();
    });
  });
  $("group-reply-cancel").addEventListener("click", () => { state.replyTo = null; renderReplyTarget(); });
  $("group-composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("group-input");
    const text = input.value;
    if (!text.trim() || state.groupId === null || state.agentId === null) return;
    const body = { user_id: state.agentId, chat_id: state.groupId, text };
    if (state.threadId !== null) body.thread_id = state.threadId;
    if (state.replyTo) body.reply_to = state.replyTo.message_id;
    await guard("group-error", async () => {
      await api("POST", "/send/text", body);
      input.value = "";
      state.replyTo = null;
      renderReplyTarget();
    });
  });
  $("create-group").addEventListener("click", () => guard("group-error", async () => {
    const agent = await api("POST", "/users", { first_name: "Agent", language_code: "ru" });
    state.users.set(agent.id, agent);
    const chat = await api("POST", "/groups", { title: "Operators", forum: true, agents: [agent.id] });
    applyChat(chat);
    state.agentId = agent.id;
    await selectGroup(chat.id);
  }));
  $("decisions-toggle").addEventListener("click", () => {
    setDecisionsShown($("decisions-toggle").getAttribute("aria-pressed") !== "true");
  });
}

wireSubscriber();
wireGroup();
renderPlaces();
bootstrap(true).then(poll, (error) => { setStatus(false); showError("user-error", error); poll(); });
pollDesk();
