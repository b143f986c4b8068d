/* Optional: checks a 居民身份证号码 while it is typed (GB 11643 check character). The server always checks
   again on submit; without JavaScript nothing is lost. */
(function () {
  "use strict";
  var W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], C = "10X98765432";
  function check(v) {
    v = v.replace(/\s+/g, "").toUpperCase();
    if (!v) return "";
    if (!/^\d{0,17}[\dX]?$/.test(v)) return "只能是数字，最后一位可以是 X";
    if (v.length < 18) return "还差 " + (18 - v.length) + " 位";
    var s = 0;
    for (var i = 0; i < 17; i++) s += W[i] * (v.charCodeAt(i) - 48);
    return C.charAt(s % 11) === v.charAt(17) ? "ok" : "校验位错误，请核对号码";
  }
  var inputs = document.querySelectorAll("input[data-check=id_card]");
  Array.prototype.forEach.call(inputs, function (input) {
    var out = document.querySelector('.id-check[data-for="' + input.id + '"]');
    if (!out) return;
    function update() {
      var r = check(input.value);
      out.textContent = r === "ok" ? "号码校验通过" : r;
      out.className = "id-check" + (r === "ok" ? " good" : r ? " wrong" : "");
    }
    input.addEventListener("input", update);
    update();
  });
})();
