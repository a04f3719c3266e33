// Playground for the Telegram emulator: a subscriber's private chat and the operator forum
// group, driven through the /_emu/ control API. Message text is rendered by building DOM
// nodes from text + entities; raw text never goes through innerHTML.
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
};

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
  const resp = await fetch(`/_emu${path}`, init);
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

function senderName(message) {
  const from = message.from || {};
  return [from.first_name, from.last_name].filter(Boolean).join(" ") || "?";
}

function serviceText(message) {
  if (message.forum_topic_created) return `Topic created: ${message.forum_topic_created.name}`;
  if (message.forum_topic_edited) return `Topic edited${message.forum_topic_edited.name ? `: ${message.forum_topic_edited.name}` : ""}`;
  if (message.forum_topic_closed) return "Topic closed";
  if (message.forum_topic_reopened) return "Topic reopened";
  return null;
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
  if (message.document) {
    return el("a", {
      href: `/_emu/files/${encodeURIComponent(message.document.file_id)}`,
      target: "_blank",
      testid: "message-document",
      text: `📄 ${message.document.file_name || "document"}`,
    });
  }
  if (message.voice) return el("div", { testid: "message-voice", text: `🎤 voice, ${message.voice.duration}s` });
  if (message.sticker) return el("div", { testid: "message-sticker", text: message.sticker.emoji || "[sticker]" });
  if (message.video) return el("div", { testid: "message-video", text: "🎬 video" });
  if (message.audio) return el("div", { testid: "message-audio", text: "🎵 audio" });
  if (message.location) {
    return el("div", { testid: "message-location", text: `📍 ${message.location.latitude}, ${message.location.longitude}` });
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

function messageNode(message, { chatId, mine, group }) {
  const service = serviceText(message);
  if (service) {
    return el("div", { class: "msg service", testid: "service-message", "data-message-id": message.message_id }, service);
  }
  const fromBot = Boolean(message.from && message.from.is_bot);
  const testid = fromBot ? "bot-message" : group ? "agent-message" : "user-message";
  const node = el("div", {
    class: `msg${mine ? " mine" : ""}`,
    testid,
    "data-message-id": message.message_id,
    "data-from-bot": fromBot ? "true" : "false",
  });
  const meta = el("div", { class: "meta" }, el("span", { testid: "message-sender", text: senderName(message) }));
  if (message.edit_date) meta.append(el("span", { class: "edited", text: "edited" }));
  if (group) {
    meta.append(el("button", {
      type: "button", class: "reply-action", testid: "message-reply", text: "↩ reply",
      onclick: () => setReplyTarget(message),
    }));
  }
  node.append(meta);
  const quoted = message.reply_to_message;
  if (quoted && !serviceText(quoted)) {
    const quoteText = quoted.text || quoted.caption || "[media]";
    node.append(el("div", { class: "quote", testid: "message-quote", text: `${senderName(quoted)}: ${quoteText.slice(0, 80)}` }));
  }
  const media = mediaNode(message);
  if (media) node.append(media);
  if (message.text !== undefined || message.caption !== undefined) {
    const body = el("div", { class: "text", testid: "message-text" });
    body.append(message.text !== undefined
      ? renderFormatted(message.text, message.entities)
      : renderFormatted(message.caption, message.caption_entities));
    node.append(body);
  }
  const keyboard = keyboardNode(message, chatId);
  if (keyboard) node.append(keyboard);
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

function renderReplyKeyboard() {
  const box = $("reply-keyboard");
  box.replaceChildren();
  const chat = state.chats.get(state.userId);
  const keyboard = chat && chat.reply_keyboard;
  if (!keyboard || !keyboard.keyboard) return;
  for (const row of keyboard.keyboard) {
    const rowNode = el("div", { class: "row" });
    for (const button of row) {
      rowNode.append(el("button", {
        type: "button", testid: "keyboard-button", text: button.text,
        onclick: () => sendUserText(button.text),
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
    const tab = el("button", {
      type: "button",
      testid: "topic-tab",
      "data-thread-id": id === null ? "" : id,
      class: `${id === state.threadId ? "active" : ""}${topic.closed ? " closed" : ""}`,
      onclick: () => selectThread(id),
    }, topic.name);
    if (unread && id !== state.threadId) tab.append(el("span", { class: "badge", testid: "topic-unread", text: String(unread) }));
    nav.append(tab);
  }
  const current = tabs.find((t) => t.message_thread_id === state.threadId);
  title.textContent = current ? current.name : "General";
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
    userSelect.append(el("option", { value: user.id, text: `${user.first_name} (${user.language_code || "-"}) #${user.id}` }));
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

// ------------------------------------------------------------------ actions

async function loadChat(chatId) {
  const list = await api("GET", `/chats/${chatId}/messages`);
  const map = chatMessages(chatId);
  map.clear();
  for (const message of list) map.set(message.message_id, message);
}

async function selectUser(userId) {
  state.userId = userId;
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
    ? `Replying to ${senderName(state.replyTo)}: ${(state.replyTo.text || state.replyTo.caption || "[media]").slice(0, 60)}`
    : "";
}

async function sendUserText(text) {
  if (state.userId === null) throw new Error("create a subscriber first");
  await api("POST", "/send/text", { user_id: state.userId, text });
}

async function sendUserPhoto(file, caption) {
  const form = new FormData();
  form.append("user_id", String(state.userId));
  if (caption) form.append("caption", caption);
  form.append("photo", file, file.name || "photo.png");
  await api("POST", "/send/photo", form);
}

async function pressButton(chatId, messageId, data) {
  try {
    const user = chatId > 0 ? chatId : state.agentId;
    const body = { user_id: user, message_id: messageId, callback_data: data };
    if (chatId < 0) body.chat_id = chatId;
    const { callback_query_id: id } = await api("POST", "/press", body);
    const answer = await api("GET", `/callbacks/${id}?timeout=15`);
    showToast(answer.text || "✓", answer.show_alert);
  } catch (error) {
    showToast(`callback failed: ${error.message}`, true);
  }
}

let toastTimer = null;
function showToast(text, alert) {
  const toast = $("callback-toast");
  toast.textContent = text;
  toast.classList.toggle("alert", Boolean(alert));
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toast.hidden = true; }, alert ? 6000 : 2500);
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
    const subscriber = snapshot.users.find((u) => !members.has(u.id));
    state.userId = subscriber ? subscriber.id : null;
  }
  if (state.userId !== null) await loadChat(state.userId);
  if (state.groupId !== null) await loadChat(state.groupId);
  renderSelectors();
  renderUserChat();
  renderGroup();
  setStatus(true);
}

function wire() {
  $("user-select").addEventListener("change", (e) => selectUser(Number(e.target.value)));
  $("group-select").addEventListener("change", (e) => selectGroup(Number(e.target.value)));
  $("agent-select").addEventListener("change", (e) => {
    state.agentId = Number(e.target.value);
    renderGroup();
  });
  $("new-user-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = $("new-user-name").value.trim() || "Subscriber";
    try {
      const user = await api("POST", "/users", { first_name: name, language_code: $("new-user-lang").value });
      state.users.set(user.id, user);
      $("new-user-name").value = "";
      showError("user-error", null);
      await selectUser(user.id);
    } catch (error) { showError("user-error", error); }
  });
  $("user-photo-input").addEventListener("change", () => {
    const file = $("user-photo-input").files[0];
    $("user-photo-name").textContent = file ? file.name : "";
  });
  $("user-composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("user-input");
    const fileInput = $("user-photo-input");
    const file = fileInput.files[0];
    const text = input.value;
    try {
      if (file) {
        await sendUserPhoto(file, text.trim());
        fileInput.value = "";
        $("user-photo-name").textContent = "";
      } else if (text.trim()) {
        await sendUserText(text);
      } else {
        return;
      }
      input.value = "";
      showError("user-error", null);
    } catch (error) { showError("user-error", error); }
  });
  $("user-block-toggle").addEventListener("click", async () => {
    const user = state.users.get(state.userId);
    if (!user) return;
    try {
      await api("POST", "/block", { user_id: user.id, blocked: !user.blocked });
    } catch (error) { showError("user-error", error); }
  });
  $("create-group").addEventListener("click", async () => {
    try {
      const agent = await api("POST", "/users", { first_name: "Agent", language_code: "ru" });
      state.users.set(agent.id, agent);
      const chat = await api("POST", "/groups", { title: "Operators", forum: true, agents: [agent.id] });
      applyChat(chat);
      state.agentId = agent.id;
      await selectGroup(chat.id);
      showError("group-error", null);
    } catch (error) { showError("group-error", error); }
  });
  $("new-agent-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (state.groupId === null) return;
    const name = $("new-agent-name").value.trim() || "Agent";
    try {
      const agent = await api("POST", "/users", { first_name: name, language_code: "ru" });
      state.users.set(agent.id, agent);
      const chat = await api("POST", `/chats/${state.groupId}/members`, { user_id: agent.id });
      applyChat(chat);
      state.agentId = agent.id;
      $("new-agent-name").value = "";
      renderSelectors();
      showError("group-error", null);
    } catch (error) { showError("group-error", error); }
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
    try {
      await api("POST", "/send/text", body);
      input.value = "";
      state.replyTo = null;
      renderReplyTarget();
      showError("group-error", null);
    } catch (error) { showError("group-error", error); }
  });
}

wire();
bootstrap(true).then(poll, (error) => { setStatus(false); showError("user-error", error); poll(); });
