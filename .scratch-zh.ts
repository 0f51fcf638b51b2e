import { run } from "./.scratch-eval.js"
import { localBoundaries } from "./src/Memorize/LocalBoundaryDetector.js"
const TOKYO = [
  "我下个月想去东京旅行，大概玩五天，有什么推荐的行程吗？",
  "东京五天的话，可以先去浅草和上野，第二天去涩谷和新宿，再安排一天去镰仓或者富士山。",
  "富士山一日游怎么去比较方便？",
  "从新宿坐高速巴士去河口湖大约两个小时，河口湖看富士山的风景最好。",
  "东京的酒店住在哪个区比较方便？",
  "住在新宿或者上野都很方便，地铁和电车去各个景点都很快。",
]
const COOKING = [
  "换个话题，红烧肉怎么做才不腻？",
  "五花肉先焯水，再用小火炒出油，加冰糖炒糖色，然后加酱油和料酒慢慢炖一个小时。",
  "冰糖可以换成白糖吗？",
  "可以，不过冰糖炒出来的糖色更亮，红烧肉的味道也更醇。",
  "炖的时候要加多少水？",
  "水要没过五花肉，小火炖到汤汁浓稠，最后大火收汁就可以了。",
]
run(lx => {
  const texts = [...TOKYO, ...COOKING]
  const t = texts.map(lx.terms)
  console.log(t.map(x => x.join(" ")).join("\n"))
  console.log(localBoundaries(t, t.map((_, i) => i)))
  console.log(localBoundaries(TOKYO.map(lx.terms), TOKYO.map((_, i) => i)), localBoundaries(COOKING.map(lx.terms), TOKYO.map((_, i) => i)))
})
