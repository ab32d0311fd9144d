// The page for bureau staff: sign in with a token, upload a spreadsheet, follow the job, read the summary,
// download the workbook, browse the run's decisions and their explanations, list earlier runs.
// Plain JavaScript, no libraries: every call goes to the service's /v1 API with the token as a bearer token.
"use strict";

const TOKEN_KEY = "policyengine.token";
const PAGE_SIZE = 50;
const POLL_MS = 400;

const STAGES = {
  queued: "排队等候中",
  reading: "正在读取表格",
  scoring: "正在测算",
  writing: "正在生成工作簿",
  recording: "正在存档测算结果",
  done: "测算完成",
  failed: "测算失败",
};
const RUN_STATUS = { complete: "已完成", running: "进行中", failed: "失败" };
const ROLE_HINT = "该令牌的角色无权上传测算表格（需经办人员或政策起草人员令牌）";

const view = {
  titles: {},        // package id -> {title, clauses: {id: "第N条 标题"}}
  me: null,          // who is signed in (GET /v1/me: user, role, role_zh, rights)
  jobs: [],          // the caller's jobs (GET /v1/jobs)
  current: null,     // the job shown in the summary
  run: null,         // the run whose decisions are listed
  offset: 0,
  total: 0,
  polling: null,
};

function $(id) {
  return document.getElementById(id);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) {
    if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

function money(n) {
  return n === null || n === undefined ? "—" : Number(n).toLocaleString("zh-CN") + " 元";
}

function count(n) {
  return n === null || n === undefined ? "—" : Number(n).toLocaleString("zh-CN");
}

function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString("zh-CN", { hour12: false });
}

// -- the API ------------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, options) {
  const opts = Object.assign({}, options || {});
  opts.headers = Object.assign({}, opts.headers || {}, { Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY) });
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw new ApiError(0, "network", "无法连接服务，请检查网络后重试");
  }
  if (!res.ok) {
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    const err = body && body.error ? body.error : null;
    const message = err ? err.message_zh || err.message : "请求失败（HTTP " + res.status + "）";
    if (res.status === 401 && path !== "/v1/me") signOut("登录已失效，请重新登录");
    throw new ApiError(res.status, err ? err.code : "http_" + res.status, message);
  }
  return res;
}

async function apiJson(path, options) {
  return (await api(path, options)).json();
}

// -- signing in -----------------------------------------------------------------------------------------------

function showSignedIn(me) {
  $("signin").hidden = !!me;
  $("app").hidden = !me;
  $("signout").hidden = !me;
  $("who").textContent = me ? "当前用户：" + me.user + "（" + me.role_zh + "）" : "";
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (view.polling) clearTimeout(view.polling);
  view.polling = null;
  view.me = null;
  showSignedIn(null);
  $("signin-error").textContent = message || "";
}

// The token is checked with GET /v1/me (who it is, what the role may do) before anything else is asked.
async function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  let me;
  try {
    me = await apiJson("/v1/me");
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("signin-error").textContent = e.status === 401 ? "令牌无效，请核对后重试" : e.message;
    return false;
  }
  if (!me.rights.includes("jobs")) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("signin-error").textContent = ROLE_HINT + "；当前令牌：" + me.user + "（" + me.role_zh + "）";
    return false;
  }
  view.me = me;
  $("signin-error").textContent = "";
  showSignedIn(me);
  await loadPackages();
  await loadRuns();
  return true;
}

// -- packages -------------------------------------------------------------------------------------------------

async function loadPackages() {
  const box = $("packages");
  box.replaceChildren(el("legend", {}, "测算的政策"));
  let list = [];
  try {
    const health = await (await fetch("/healthz")).json();
    list = health.packages.map((p) => ({ id: p.id, title: p.id }));
  } catch (e) {
    list = [];
  }
  try {
    const full = await apiJson("/v1/packages");
    const byId = Object.fromEntries(full.map((p) => [p.id, p.title || p.id]));
    list = list.map((p) => ({ id: p.id, title: byId[p.id] || p.id }));
  } catch (e) {
    // titles are a nicety: the ids serve
  }
  for (const p of list) {
    const input = el("input", { type: "checkbox", value: p.id, checked: true, id: "pkg-" + p.id });
    box.append(el("label", { class: "check", htmlFor: "pkg-" + p.id }, input, " " + p.title));
  }
}

// -- uploading and following a job ---------------------------------------------------------------------------

async function upload(event) {
  event.preventDefault();
  const file = $("file").files[0];
  $("upload-error").textContent = "";
  if (!file) {
    $("upload-error").textContent = "请先选择表格文件";
    return;
  }
  const chosen = Array.from(document.querySelectorAll("#packages input:checked")).map((i) => i.value);
  if (!chosen.length) {
    $("upload-error").textContent = "请至少选择一项政策";
    return;
  }
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("packages", chosen.join(","));
  $("upload-button").disabled = true;
  try {
    const job = await apiJson("/v1/jobs", { method: "POST", body: form });
    $("summary").hidden = true;
    $("decisions").hidden = true;
    showJob(job);
    follow(job.id);
  } catch (e) {
    $("upload-error").textContent = e.code === "too_large" ? e.message + "，请拆分后分批上传" : e.message;
    $("upload-button").disabled = false;
  }
}

function showJob(job) {
  $("job").hidden = false;
  if (job.user) $("who").textContent = "已登录：" + job.user;
  $("job-file").textContent = "文件：" + job.file_name + "　上传时间：" + when(job.created_at);
  const pct = Math.round((job.progress || 0) * 100);
  $("job-fill").style.width = pct + "%";
  $("job-bar").setAttribute("aria-valuenow", String(pct));
  $("job-bar").dataset.state = job.state;
  let text = STAGES[job.stage] || job.stage;
  if (job.rows_total !== null && job.rows_total !== undefined) {
    if (job.stage === "recording") text += "：" + count(job.rows_recorded) + " 行已存档";
    else text += "：已处理 " + count(job.rows_done) + " / " + count(job.rows_total) + " 行";
  }
  $("job-status").textContent = text + "（" + pct + "%）";
  $("job-error").textContent = job.state === "failed" ? (job.error_zh || "") + (job.error ? "　" + job.error : "") : "";
}

function follow(jobId) {
  if (view.polling) clearTimeout(view.polling);
  const tick = async () => {
    let job;
    try {
      job = await apiJson("/v1/jobs/" + encodeURIComponent(jobId));
    } catch (e) {
      $("job-error").textContent = e.message;
      $("upload-button").disabled = false;
      return;
    }
    showJob(job);
    if (job.state === "done" || job.state === "failed") {
      view.polling = null;
      $("upload-button").disabled = false;
      if (job.state === "done") {
        showSummary(job);
        loadDecisions(job.run_id, 0);
      }
      loadRuns();
      return;
    }
    view.polling = setTimeout(tick, POLL_MS);
  };
  view.polling = setTimeout(tick, POLL_MS);
}

// -- the summary and its charts -----------------------------------------------------------------------------

function packageTitle(id) {
  return (view.titles[id] && view.titles[id].title) || id;
}

function clauseTitle(pkg, cid) {
  const t = view.titles[pkg];
  return (t && t.clauses && t.clauses[cid]) || cid;
}

function showSummary(job) {
  const s = job.summary;
  view.current = job;
  view.titles = job.titles || {};
  $("summary").hidden = false;
  const total = $("summary-total");
  total.textContent = money(s.total);
  total.dataset.total = String(s.total);
  $("summary-in").textContent = count(s.rows.in);
  $("summary-out").textContent = count(s.rows.out);
  $("summary-rejected").textContent = count(s.rows.rejected);
  $("summary-note").textContent = s.rows.rejected
    ? "未通过校验的 " + count(s.rows.rejected) + " 行及原因，见工作簿的“未通过”工作表；修改后可重新上传。"
    : "所有行均已完成测算。";
  $("package-totals").replaceChildren(
    ...s.packages.map((p) => el("div", { class: "package-total" }, el("span", {}, packageTitle(p.package)), el("strong", {}, money(p.total)))),
  );
  $("download-status").textContent = "";
  drawFunds(s);
  drawClauses(s);
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// Horizontal bars: rows of {label, value, kind, note}, on a scale whose largest value is `max`.
function barChart(rows, caption, max) {
  const labelW = 290;
  const barW = 330;
  const rowH = 26;
  const width = labelW + barW + 300;
  const height = rows.length * rowH + 8;
  const top = Math.max(1, max || 0, ...rows.map((r) => r.value || 0));
  const chart = svg("svg", { viewBox: "0 0 " + width + " " + height, width: "100%", role: "img", "aria-label": caption, class: "bars" });
  chart.append(svg("title", {}, caption));
  rows.forEach((r, i) => {
    const y = i * rowH + 4;
    const label = r.label.length > 21 ? r.label.slice(0, 20) + "…" : r.label;
    const text = svg("text", { x: labelW - 8, y: y + 16, "text-anchor": "end", class: "bar-label" }, label);
    text.append(svg("title", {}, r.label));
    chart.append(text);
    const w = r.value ? Math.max(2, Math.round((r.value / top) * barW)) : 0;
    chart.append(svg("rect", { x: labelW, y: y + 3, width: w, height: rowH - 8, rx: 2, class: "bar " + (r.kind || "") }));
    chart.append(svg("text", { x: labelW + w + 6, y: y + 16, class: "bar-value" }, r.note !== undefined ? r.note : money(r.value)));
  });
  return chart;
}

function drawFunds(s) {
  const box = $("chart-funds");
  box.replaceChildren();
  const groups = [];
  for (const p of s.packages) {
    for (const b of p.budget) {
      groups.push({
        title: packageTitle(p.package) + "　" + b.version + " 版　" + b.application_year + " 年度",
        rows: [
          { label: "年度资金", value: b.fund, kind: "fund", note: b.fund === null ? "未设资金上限" : money(b.fund) },
          { label: "测算需求", value: b.demand, kind: "demand" },
          { label: "实际兑付", value: b.paid, kind: "paid", note: money(b.paid) + (b.prorated ? "（资金不足，按比例 " + b.factor + " 兑付）" : "") },
        ],
      });
    }
  }
  if (!groups.length) {
    box.append(el("p", { class: "muted" }, "本次没有适用年度的兑付。"));
    return;
  }
  const max = Math.max(...groups.flatMap((g) => g.rows.map((r) => r.value || 0)));
  for (const g of groups) {
    box.append(el("h4", {}, g.title));
    box.append(barChart(g.rows, g.title + " 年度资金、测算需求与实际兑付", max));
  }
}

function drawClauses(s) {
  const box = $("chart-clauses");
  box.replaceChildren();
  for (const p of s.packages) {
    const rows = Object.entries(p.clauses).map(([cid, c]) => ({
      label: clauseTitle(p.package, cid),
      value: c.amount,
      kind: "paid",
      note: money(c.amount) + "（符合 " + c.eligible + " 家" + (c.undetermined ? "，待补充 " + c.undetermined + " 家" : "") + "）",
    }));
    box.append(el("h4", {}, packageTitle(p.package) + "　合计 " + money(p.total)));
    box.append(barChart(rows, packageTitle(p.package) + " 各条款测算金额"));
  }
}

async function download(format) {
  const job = view.current;
  if (!job) return;
  $("download-status").textContent = "正在下载…";
  try {
    const res = await api("/v1/jobs/" + encodeURIComponent(job.id) + "/result?format=" + format);
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const stem = job.file_name.replace(/\.[^.]*$/, "");
    const a = el("a", { href: url, download: stem + "-测算结果." + format });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    $("download-status").textContent = "已下载：" + stem + "-测算结果." + format;
  } catch (e) {
    $("download-status").textContent = e.message;
  }
}

// -- decisions and explanations ------------------------------------------------------------------------------

function verdict(item) {
  const o = item.outcome;
  if (o && typeof o === "object") {
    let e = 0;
    let u = 0;
    for (const p of Object.values(o)) {
      for (const c of Object.values((p && p.c) || {})) {
        if (c[0] === "e") e += 1;
        if (c[0] === "u") u += 1;
      }
    }
    if (!e && !u) return "均不符合";
    return [e ? "符合 " + e + " 条" : "", u ? "待补充 " + u + " 条" : ""].filter(Boolean).join("，");
  }
  return o ? String(o) : "";
}

async function loadDecisions(runId, offset) {
  if (runId === null || runId === undefined) return;
  view.run = runId;
  view.offset = offset;
  $("decisions").hidden = false;
  $("decisions-error").textContent = "";
  $("decisions-run").textContent = "（第 " + runId + " 次测算）";
  const body = $("decision-rows");
  body.replaceChildren();
  let page;
  try {
    page = await apiJson("/v1/decisions?run=" + encodeURIComponent(runId) + "&limit=" + PAGE_SIZE + "&offset=" + offset);
  } catch (e) {
    $("decisions-error").textContent = "暂时无法读取测算明细：" + e.message;
    $("decisions-page").textContent = "";
    return;
  }
  view.total = page.total;
  for (const item of page.items) {
    const tr = el("tr", { class: "clickable", tabIndex: 0, "data-id": item.id },
      el("td", {}, item.row), el("td", { class: "mono" }, item.uscc || ""), el("td", {}, item.name || ""),
      el("td", {}, item.year === null || item.year === undefined ? "" : item.year),
      el("td", { class: "num" }, count(item.total)), el("td", {}, verdict(item)));
    tr.addEventListener("click", () => explain(item, tr));
    tr.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") explain(item, tr);
    });
    body.append(tr);
  }
  const last = Math.min(offset + page.items.length, page.total);
  $("decisions-page").textContent = page.total ? "第 " + (offset + 1) + "–" + last + " 条，共 " + page.total + " 条" : "本次测算没有明细";
  $("decisions-prev").disabled = offset === 0;
  $("decisions-next").disabled = last >= page.total;
}

// The explanation opens in a row of its own beneath the clicked one (a second click closes it).
async function explain(item, tr) {
  const open = document.querySelector("#decision-rows tr.explain-row");
  const same = tr.classList.contains("selected");
  if (open) open.remove();
  for (const row of document.querySelectorAll("#decision-rows tr.selected")) row.classList.remove("selected");
  if (same) return;
  tr.classList.add("selected");
  const list = el("ol", { id: "explain-lines" }, el("li", { class: "muted" }, "正在读取…"));
  const title = el("h3", {}, "测算说明");
  tr.after(el("tr", { class: "explain-row" }, el("td", { colSpan: 6, class: "explain" }, title, list)));
  try {
    const data = await apiJson("/v1/decisions/" + encodeURIComponent(item.id) + "/explain");
    list.replaceChildren(...data.lines_zh.filter((line) => line.trim()).map((line) => el("li", {}, line)));
  } catch (e) {
    list.replaceChildren(el("li", { class: "error" }, "无法读取测算说明：" + e.message));
  }
}

// -- earlier runs ---------------------------------------------------------------------------------------------

async function loadRuns() {
  const body = $("run-rows");
  $("runs-error").textContent = "";
  let runs;
  try {
    runs = await apiJson("/v1/runs?limit=20");
    view.jobs = await apiJson("/v1/jobs");
  } catch (e) {
    $("runs-error").textContent = "暂时无法读取历次测算：" + e.message;
    return;
  }
  body.replaceChildren();
  for (const r of runs) {
    const tr = el("tr", { class: "clickable", tabIndex: 0, "data-id": r.id },
      el("td", {}, r.id), el("td", {}, when(r.started_at)), el("td", {}, r.user || ""),
      el("td", {}, r.input_name || r.command || ""), el("td", { class: "num" }, count(r.rows_in)),
      el("td", { class: "num" }, count(r.decided)), el("td", { class: "num" }, count(r.rejected)),
      el("td", { class: "status-" + r.status }, RUN_STATUS[r.status] || r.status));
    const open = () => {
      const job = view.jobs.find((j) => j.run_id === r.id && j.state === "done");
      if (job) showSummary(job);
      loadDecisions(r.id, 0);
      $("decisions").scrollIntoView({ behavior: "smooth" });
    };
    tr.addEventListener("click", open);
    tr.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") open();
    });
    body.append(tr);
  }
  if (!runs.length) body.append(el("tr", {}, el("td", { colSpan: 8, class: "muted" }, "暂无测算记录")));
}

// -- wiring ---------------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const token = $("token").value.trim();
    $("token").value = "";
    if (token) await signIn(token);
  });
  $("signout").addEventListener("click", () => signOut(""));
  $("upload-form").addEventListener("submit", upload);
  $("file").addEventListener("change", () => {
    const file = $("file").files[0];
    $("file-name").textContent = file ? file.name + "（" + Math.max(1, Math.round(file.size / 1024)) + " KB）" : "未选择文件";
  });
  $("download-xlsx").addEventListener("click", () => download("xlsx"));
  $("download-csv").addEventListener("click", () => download("csv"));
  $("decisions-prev").addEventListener("click", () => loadDecisions(view.run, Math.max(0, view.offset - PAGE_SIZE)));
  $("decisions-next").addEventListener("click", () => loadDecisions(view.run, view.offset + PAGE_SIZE));
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
  else showSignedIn(null);
});
