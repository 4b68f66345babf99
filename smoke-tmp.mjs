import http from "node:http";
import { ECM, ECMSync } from "ecm-sdk";
const srv = http.createServer((req, res) => {
  if (req.url.startsWith("/portal/auth")) { res.setHeader("content-type","application/json"); return res.end(JSON.stringify({access_token:"eyJ", expires_in: 300, token_type:"bearer"})); }
  res.setHeader("content-type","application/json");
  res.end(JSON.stringify([{id:"a010279b-ae66-4c1d-b066-c45d50c9f75a",numericId:1,username:"sysadmin",loginName:"sysadmin",displayName:"S",email:null,enabled:true,profileId:-1,groups:["administrators"],description:"d",validFrom:null,validTo:"2030-01-01T00:00:00Z"}]));
}).listen(0, "127.0.0.1");
await new Promise(r => srv.on("listening", r));
const baseUrl = `http://127.0.0.1:${srv.address().port}`;
const ecm = new ECM({ baseUrl, username: "u", password: "secretpw" });
console.log(ecm, await ecm.security.users({extendedInfo:true}));
