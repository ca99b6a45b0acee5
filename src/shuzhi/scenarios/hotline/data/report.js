const D = JSON.parse(document.getElementById('report-data').textContent);
const esc = s => String(s ?? '').replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const rows = (id, list) => { document.getElementById(id).innerHTML = list.join(''); };
rows('summary', Object.entries(D.summary).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`));
const bar = (id, pairs, horizontal) => {
  const chart = echarts.init(document.getElementById(id));
  const names = pairs.map(p => p[0]), values = pairs.map(p => p[1]);
  const cat = {type: 'category', data: names, axisLabel: {interval: 0, width: 110, overflow: 'truncate'}};
  chart.setOption({tooltip: {}, grid: {left: horizontal ? 130 : 40, right: 20, bottom: 40},
    xAxis: horizontal ? {type: 'value'} : cat, yAxis: horizontal ? {...cat, inverse: true} : {type: 'value'},
    series: [{type: 'bar', data: values, itemStyle: {color: '#c62828'}}]});
};
bar('c-categories', D.categories, true);
bar('c-units', D.units, true);
bar('c-confidence', D.confidence, false);
bar('c-deadlines', D.deadlines, false);
document.getElementById('threshold').textContent = `置信度低于 ${D.threshold} 的工单进入人工复核。`;
const zh = {consultation:'咨询', help:'求助', complaint:'投诉', report:'举报', suggestion:'建议', urgent:'紧急', high:'较急', normal:'一般'};
echarts.init(document.getElementById('c-types')).setOption({tooltip: {}, series: [
  {type: 'pie', radius: ['0%', '45%'], center: ['28%', '50%'], data: D.types.map(([k, v]) => ({name: zh[k] || k, value: v}))},
  {type: 'pie', radius: ['0%', '45%'], center: ['75%', '50%'], data: D.urgency.map(([k, v]) => ({name: zh[k] || k, value: v}))}]});
if (D.evaluation) {
  const E = D.evaluation, n = E.classes.length, cells = [];
  E.confusion.forEach((r, i) => r.forEach((v, j) => cells.push([j, n - 1 - i, v])));
  document.getElementById('eval-text').textContent = `${E.n_labelled} 条带标签：准确率 ${(E.accuracy*100).toFixed(1)}%，宏平均 F1 ${(E.macro_f1*100).toFixed(1)}%。${E.note}`;
  echarts.init(document.getElementById('c-confusion')).setOption({tooltip: {}, grid: {left: 120, bottom: 80},
    xAxis: {type: 'category', data: E.classes, name: '预测', axisLabel: {rotate: 30}},
    yAxis: {type: 'category', data: [...E.classes].reverse(), name: '实际'},
    visualMap: {min: 0, max: Math.max(...cells.map(c => c[2])), calculable: true, orient: 'horizontal', left: 'center', bottom: 0},
    series: [{type: 'heatmap', data: cells, label: {show: true}}]});
} else { document.getElementById('eval').style.display = 'none'; }
// Heat decays with age (half-life 30 days), so over years of messages its raw value spans many
// orders of magnitude; it is shown relative to the hottest topic (= 100).
const hottest = Math.max(...D.hot_topics.map(t => t.heat), 0) || 1;
const relHeat = h => { const r = 100 * h / hottest; return r >= 0.1 ? r.toFixed(1) : '<0.1'; };
rows('topics', ['<tr><th>排名</th><th>热点</th><th>留言数</th><th>点赞</th><th>热度（最热=100）</th><th>时间（北京时间）</th><th>代表留言</th></tr>']
  .concat(D.hot_topics.map(t => `<tr><td>${t.rank}</td><td>${esc(t.name)}</td><td>${t.messages}</td><td>${t.votes_up}</td><td>${relHeat(t.heat)}</td>` +
  `<td>${esc((t.first_at||'').slice(0,10))} ~ ${esc((t.last_at||'').slice(0,10))}</td><td>${t.examples.map(e => esc(e.title || e.text.slice(0, 40))).join('<br>')}</td></tr>`)));
rows('problems', ['<tr><th>行号</th><th>原因</th></tr>'].concat(D.problems.map(p => `<tr><td>${p[0]}</td><td>${esc(p[1])}</td></tr>`)));
