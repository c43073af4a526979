/* The feedback form's customer picker: a click on a found customer fills in the customer number. */
document.addEventListener("click", function (e) {
  var b = e.target.closest("[data-customer-number]");
  if (!b) {
    return;
  }
  document.getElementById("id_customer_number").value = b.dataset.customerNumber;
});
