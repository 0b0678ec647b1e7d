// Added to Orthanc Explorer by the previewer plugin: an "Open in Previewer"
// button on the study, series and instance pages, leading to the deep link
// /previewer/open?<UID>=... (resolved by the plugin with Orthanc's lookups).
(function () {
  var pages = {
    study: ['studies', 'StudyInstanceUID'],
    series: ['series', 'SeriesInstanceUID'],
    instance: ['instances', 'SOPInstanceUID']
  };
  $.each(pages, function (page, spec) {
    $('#' + page).live('pagebeforeshow', function () {
      $('#previewer-open-' + page).remove();
      var uuid = $.mobile.pageData && $.mobile.pageData.uuid;
      if (!uuid) {
        return;
      }
      $.ajax({
        url: '../' + spec[0] + '/' + uuid,
        dataType: 'json',
        cache: false,
        success: function (resource) {
          var uid = resource.MainDicomTags && resource.MainDicomTags[spec[1]];
          if (!uid) {
            return;
          }
          var link = $('<a>')
            .attr('id', 'previewer-open-' + page)
            .attr('href', '../previewer/open?' + spec[1] + '=' + encodeURIComponent(uid))
            .attr('data-role', 'button')
            .attr('data-ajax', 'false')
            .attr('rel', 'external')
            .attr('data-icon', 'search')
            .text('Open in Previewer');
          $('#' + page + ' div[data-role="content"]').first().prepend(link);
          link.button();
        }
      });
    });
  });
}());
